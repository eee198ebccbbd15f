package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// s3Run keeps a run directory in an S3-compatible store: the run writes
// into a local working copy, checkpoints go straight to the store, and
// the other files (config, progress, results, TensorBoard, report) are
// uploaded at every checkpoint and when the run ends. Resuming downloads
// them first.
//
// The run holds a lease on the location (checkpoint.AcquireLease: the
// object rltrain.lease with its holder and a heartbeat every 20 s) from
// start to end, so a second train or --resume of the same location is
// refused while the first runs; a lease whose holder stopped renewing it
// for 60 s (a crash) lapses.
type s3Run struct {
	remote string
	local  string
	store  checkpoint.Store
	every  int
	lease  *checkpoint.Lease
}

func isS3(loc string) bool { return strings.HasPrefix(loc, "s3://") }

// newS3Run opens the store and prepares the local working copy; when
// resuming, the run's files (not its checkpoints) are downloaded into it.
func newS3Run(ctx context.Context, remote string, resume bool) (*s3Run, error) {
	store, err := checkpoint.OpenStore(remote)
	if err != nil {
		return nil, err
	}
	remote = strings.TrimSuffix(remote, "/")
	host, _ := os.Hostname()
	lease, err := checkpoint.AcquireLease(ctx, store, checkpoint.LeaseOptions{Holder: fmt.Sprintf("host %s pid %d", host, os.Getpid())})
	if err != nil {
		return nil, err
	}
	r, err := openS3Run(ctx, remote, store, resume)
	if err != nil {
		lease.Release(context.WithoutCancel(ctx))
		return nil, err
	}
	r.lease = lease
	return r, nil
}

func openS3Run(ctx context.Context, remote string, store checkpoint.Store, resume bool) (*s3Run, error) {
	keys, err := store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", remote, err)
	}
	isRun := false
	var other []string
	for _, k := range keys {
		switch {
		case k == "config.yaml" || k == "progress.csv":
			isRun = true
		case k != checkpoint.LeaseKey:
			other = append(other, k)
		}
	}
	if !resume && (isRun || len(other) > 0) {
		return nil, &train.NotEmptyError{Dir: remote, IsRun: isRun}
	}
	if resume && !isRun {
		return nil, fmt.Errorf("--resume %s: not a run directory (no config.yaml there)", remote)
	}
	local, err := os.MkdirTemp("", "rltrain-s3-run-")
	if err != nil {
		return nil, err
	}
	r := &s3Run{remote: remote, local: local, store: store}
	if !resume {
		return r, nil
	}
	for _, k := range keys {
		if strings.HasPrefix(k, checkpoint.Dir+"/") || k == checkpoint.LeaseKey {
			continue
		}
		data, err := store.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("resume %s: %w", remote, err)
		}
		p := filepath.Join(local, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(local, "config.yaml")); err != nil {
		return nil, fmt.Errorf("resume %s: no config.yaml there", remote)
	}
	return r, nil
}

// upload copies every file of the working copy, checkpoints aside, to the store.
func (r *s3Run) upload(ctx context.Context) error {
	return filepath.WalkDir(r.local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(r.local, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, checkpoint.Dir+"/") || strings.HasSuffix(key, ".tmp") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) == 0 {
			return err // empty files (result.jsonl before the first row) are recreated on resume
		}
		if err := r.store.Put(ctx, key, data); err != nil {
			return fmt.Errorf("upload run files to %s: %w", r.remote, err)
		}
		return nil
	})
}

// Start implements train.Tracker.
func (r *s3Run) Start(ctx context.Context, _ train.RunInfo) error { return r.upload(ctx) }

// Iteration uploads the run's files at every checkpoint, and stops the
// run if another process has taken its lease over.
func (r *s3Run) Iteration(ctx context.Context, res algorithms.Result) error {
	if err := r.lease.Err(); err != nil {
		return err
	}
	if r.every > 0 && res.Iteration%r.every == 0 {
		return r.upload(ctx)
	}
	return nil
}

// Finish uploads the final files and removes the working copy.
func (r *s3Run) Finish(ctx context.Context, _ *train.ResultFile) error {
	err := r.upload(ctx)
	if err == nil {
		os.RemoveAll(r.local)
	}
	return err
}

// release gives the run's lease back (deferred by runTrain, whatever
// ended the run).
func (r *s3Run) release(ctx context.Context) error {
	return r.lease.Release(context.WithoutCancel(ctx))
}
