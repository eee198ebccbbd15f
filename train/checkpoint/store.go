package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store holds a run's files under slash-separated keys ("checkpoints/
// iter-000010/weights.msgpack"). The local store writes each file
// atomically; object stores (S3) are atomic per object. A checkpoint is
// complete only once its metadata object exists, so neither needs rename.
type Store interface {
	// Put writes data under key, replacing any previous object.
	Put(ctx context.Context, key string, data []byte) error
	// Get reads key; a missing key is an error wrapping fs.ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store's location for messages.
	String() string
}

// LocalStore keeps files under a directory.
type LocalStore struct {
	Root string
}

func (s LocalStore) path(key string) string { return filepath.Join(s.Root, filepath.FromSlash(key)) }

// String returns the root directory.
func (s LocalStore) String() string { return s.Root }

// Put writes data to a temporary file beside key, fsyncs it, renames it
// into place and fsyncs the directory, so a crash leaves either the old
// file or the new one, never half of it.
func (s LocalStore) Put(_ context.Context, key string, data []byte) error {
	p := s.path(key)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("put %s: fsync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// Get reads key.
func (s LocalStore) Get(_ context.Context, key string) ([]byte, error) {
	b, err := os.ReadFile(s.path(key))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return b, nil
}

// List walks the directory under prefix. Temporary files are skipped.
func (s LocalStore) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := s.path(prefix)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(s.Root, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes key and then any directories it leaves empty up to the root.
func (s LocalStore) Delete(_ context.Context, key string) error {
	p := s.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != filepath.Clean(s.Root) && strings.HasPrefix(dir, filepath.Clean(s.Root)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty
		}
	}
	return nil
}
