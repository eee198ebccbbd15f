package serve

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// TestWatch: Watch serves each new complete checkpoint of a run; it
// neither serves nor moves a checkpoint still being written (no
// metadata yet), passes over a damaged one and an older version, and
// serves a later good one.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	store := checkpoint.LocalStore{Root: dir}
	base := testPolicy(t, "actor_critic", 1, 1)
	srv, err := New(Config{}, base)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	write := func(it int, version uint64) {
		t.Helper()
		w := testPolicy(t, "actor_critic", version+100, version).Weights
		b, err := w.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := checkpoint.Write(ctx, store, checkpoint.Meta{Iteration: it, WeightsVer: version}, map[string][]byte{"weights.msgpack": b}); err != nil {
			t.Fatal(err)
		}
	}
	convert := func(c *checkpoint.Checkpoint) (*policy.Exported, error) {
		raw, err := c.File("weights.msgpack")
		if err != nil {
			return nil, err
		}
		w, err := policy.UnmarshalWeights(raw)
		if err != nil {
			return nil, err
		}
		e := *base
		e.Weights = w
		return &e, nil
	}
	done := make(chan error, 1)
	go func() { done <- srv.Watch(ctx, store, 1, 10*time.Millisecond, convert) }()
	waitVersion := func(v uint64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for srv.Version() != v {
			if time.Now().After(deadline) {
				t.Fatalf("version %d after 5 s; want %d", srv.Version(), v)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// A checkpoint being written: its weights, no metadata yet.
	partial := filepath.Join(dir, "checkpoints", "iter-000003")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "weights.msgpack"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(2, 2)
	waitVersion(2)
	time.Sleep(50 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(partial, "weights.msgpack")); err != nil {
		t.Fatalf("the checkpoint being written was touched: %v", err)
	}
	// A damaged one (its weights changed after the metadata) is passed over.
	// Written elsewhere, then put in place with rotten weights and the
	// metadata last, so that it is never valid in the run.
	scratch := t.TempDir()
	w4 := testPolicy(t, "actor_critic", 104, 4).Weights
	b4, _ := w4.Encode()
	if _, err := checkpoint.Write(ctx, checkpoint.LocalStore{Root: scratch}, checkpoint.Meta{Iteration: 4, WeightsVer: 4}, map[string][]byte{"weights.msgpack": b4}); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(scratch, "checkpoints", "iter-000004", checkpoint.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	rotten := filepath.Join(dir, "checkpoints", "iter-000004")
	if err := os.MkdirAll(rotten, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rotten, "weights.msgpack"), []byte("rot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rotten, checkpoint.MetadataFile), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if v := srv.Version(); v != 2 {
		t.Fatalf("after a damaged checkpoint: version %d; want 2", v)
	}
	// The one being written is finished: served.
	write(3, 3)
	waitVersion(3)
	// An older version in a newer checkpoint (a run resumed from an old one) is refused.
	write(5, 1)
	time.Sleep(100 * time.Millisecond)
	if v := srv.Version(); v != 3 {
		t.Fatalf("after an older version: %d; want 3", v)
	}
	write(6, 7)
	waitVersion(7)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v; want context.Canceled", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "damaged")); err == nil {
		t.Error("Watch moved a checkpoint aside; a server must only read the run")
	}
}
