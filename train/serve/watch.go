package serve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// Convert turns a checkpoint into the policy to serve (the command does
// what `rltrain export` does).
type Convert func(*checkpoint.Checkpoint) (*policy.Exported, error)

// LatestCheckpoint returns the newest complete, verified checkpoint in
// store and its iteration, or checkpoint.ErrNone. Unlike
// checkpoint.Latest it only reads: a server must not move aside a
// checkpoint that the trainer is still writing. Checkpoints at or below
// after are not considered, and skip lists iterations to pass over.
func LatestCheckpoint(ctx context.Context, store checkpoint.Store, after int, skip map[int]bool) (*checkpoint.Checkpoint, int, error) {
	its, err := checkpoint.List(ctx, store)
	if err != nil {
		return nil, 0, err
	}
	var firstErr error
	for _, it := range its {
		if it <= after {
			break
		}
		if skip[it] {
			continue
		}
		key := path.Join(checkpoint.Dir, checkpoint.Name(it))
		if _, err := store.Get(ctx, path.Join(key, checkpoint.MetadataFile)); errors.Is(err, fs.ErrNotExist) {
			continue // not finished (perhaps being written now)
		}
		c, err := checkpoint.Load(ctx, store, key)
		if err == nil {
			return c, it, nil
		}
		if !errors.Is(err, checkpoint.ErrDamaged) {
			return nil, 0, err
		}
		if skip != nil {
			skip[it] = true
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, 0, fmt.Errorf("%w (newer ones damaged: %v)", checkpoint.ErrNone, firstErr)
	}
	return nil, 0, checkpoint.ErrNone
}

// Watch polls store every interval for a checkpoint newer than iteration
// after and serves it (convert, then Swap), until ctx is cancelled. A
// checkpoint that is damaged, cannot be converted, or is not a newer
// version is logged, counted (rlgo_serve_swap_errors_total) and passed
// over; the policy served stays. It returns ctx's error.
func (s *Server) Watch(ctx context.Context, store checkpoint.Store, after int, every time.Duration, convert Convert) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	skip := map[int]bool{}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		c, it, err := LatestCheckpoint(ctx, store, after, skip)
		if errors.Is(err, checkpoint.ErrNone) {
			if err != checkpoint.ErrNone {
				s.metrics.swapErrs.Inc()
				s.cfg.Logger.Warn("watch: a new checkpoint is damaged", "err", err)
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.cfg.Logger.Warn("watch: list checkpoints", "store", store.String(), "err", err)
			continue
		}
		after = it
		p, err := convert(c)
		if err == nil {
			err = s.Swap(p)
		} else {
			s.metrics.swapErrs.Inc()
		}
		if err != nil {
			s.cfg.Logger.Warn("watch: not serving a new checkpoint", "checkpoint", c.Key, "err", err)
			continue
		}
		s.cfg.Logger.Info("watch: serving checkpoint", "checkpoint", c.Key, "version", s.Version())
	}
}
