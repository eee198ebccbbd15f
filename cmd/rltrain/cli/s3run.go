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
type s3Run struct {
	remote string
	local  string
	store  checkpoint.Store
	every  int
}

func isS3(loc string) bool { return strings.HasPrefix(loc, "s3://") }

// newS3Run opens the store and prepares the local working copy; when
// resuming, the run's files (not its checkpoints) are downloaded into it.
func newS3Run(ctx context.Context, remote string, resume bool) (*s3Run, error) {
	store, err := checkpoint.OpenStore(remote)
	if err != nil {
		return nil, err
	}
	local, err := os.MkdirTemp("", "rltrain-s3-run-")
	if err != nil {
		return nil, err
	}
	r := &s3Run{remote: strings.TrimSuffix(remote, "/"), local: local, store: store}
	if !resume {
		return r, nil
	}
	keys, err := store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", remote, err)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, checkpoint.Dir+"/") {
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

// Iteration uploads the run's files at every checkpoint.
func (r *s3Run) Iteration(ctx context.Context, res algorithms.Result) error {
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
