package cli

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// TestTrainOutRefusesNonEmptyDir (issue 13, Broken 3): train --out into
// a directory holding anything exits 2, says to --resume or pick another
// directory, and leaves the files alone.
func TestTrainOutRefusesNonEmptyDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=2", "--out", dir); code != ExitOK {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
	code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=1", "--out", dir)
	if code != ExitUsage || !strings.Contains(stderr, "--resume "+dir) || !strings.Contains(stderr, "another --out") {
		t.Errorf("train --out an existing run = %d, %q; want 2 and a hint to --resume or use another --out", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "progress.csv")); string(after) != string(before) {
		t.Error("the refused run rewrote progress.csv")
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "data.bin"), []byte("x"), 0o644)
	code, _, stderr = run(t, ctx, "train", shipped, "--set", "stop.iterations=1", "--out", other)
	if code != ExitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("train --out a non-empty directory = %d, %q; want 2", code, stderr)
	}
}

// TestTrainLockedRunDir (issue 13, Broken 4): a --resume of a run
// directory another process holds exits 1 naming the holder's pid.
func TestTrainLockedRunDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=2", "--out", dir); code != ExitOK {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	l, err := train.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, ctx, "train", "--resume", dir, "--set", "stop.iterations=4")
	l.Unlock()
	if want := fmt.Sprintf("in use by another rltrain (pid %d)", os.Getpid()); code != ExitError || !strings.Contains(stderr, want) {
		t.Errorf("resume of a locked run = %d, %q; want 1 and %q", code, stderr, want)
	}
	if r := readResult(t, dir); r.Iterations != 2 {
		t.Errorf("the refused resume changed result.json: %d iterations", r.Iterations)
	}
}

// TestS3RunLease (issue 13, Broken 3 and 4 for --out s3://): a run in S3
// holds a lease object while it runs and deletes it at the end; a second
// process is refused while the lease is live, and a fresh run into an
// S3 run directory is refused as a local one is.
func TestS3RunLease(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("runs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "rlgo-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "rlgo-test-secret")
	ctx := context.Background()
	code, _, stderr := run(t, ctx, "train", shipped, "--set", "stop.iterations=2", "--out", "s3://runs/lease")
	if code != ExitOK {
		t.Fatalf("train --out s3://runs/lease = %d: %s", code, stderr)
	}
	st, err := checkpoint.OpenStore("s3://runs/lease")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, checkpoint.LeaseKey); err == nil {
		t.Error("the finished run left its lease behind")
	}
	code, _, stderr = run(t, ctx, "train", shipped, "--set", "stop.iterations=1", "--out", "s3://runs/lease")
	if code != ExitUsage || !strings.Contains(stderr, "--resume s3://runs/lease") {
		t.Errorf("train --out an S3 run = %d, %q; want 2 and a hint to --resume", code, stderr)
	}
	other, err := checkpoint.AcquireLease(ctx, st, checkpoint.LeaseOptions{Holder: "host elsewhere pid 7", TTL: time.Minute, Settle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, ctx, "train", "--resume", "s3://runs/lease", "--set", "stop.iterations=4")
	if code != ExitError || !strings.Contains(stderr, "in use by another rltrain (host elsewhere pid 7") {
		t.Errorf("resume of a leased S3 run = %d, %q; want 1 naming the holder", code, stderr)
	}
	other.Release(ctx)
	code, _, stderr = run(t, ctx, "train", "--resume", "s3://runs/lease", "--set", "stop.iterations=4")
	if code != ExitOK {
		t.Errorf("resume after the lease was released = %d: %s", code, stderr)
	}
}
