package checkpoint

import (
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// newS3 starts an S3-compatible server (gofakes3) on a loopback port and
// returns a store for s3://runs/exp, reached over real HTTP by minio-go
// with credentials from the standard AWS environment variables.
func newS3(t *testing.T) *S3Store {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("runs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "rlgo-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "rlgo-test-secret")
	t.Setenv("AWS_REGION", "us-east-1")
	st, err := OpenStore("s3://runs/exp")
	if err != nil {
		t.Fatal(err)
	}
	return st.(*S3Store)
}

func TestS3Checkpoints(t *testing.T) {
	s := newS3(t)
	ctx := context.Background()
	for it := 1; it <= 3; it++ {
		write(t, s, it)
	}
	if _, err := s.Get(ctx, "checkpoints/iter-000009/metadata.json"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(missing) = %v; want fs.ErrNotExist", err)
	}
	// A flipped object in the newest checkpoint: the previous one is used.
	if err := s.Put(ctx, "checkpoints/iter-000003/weights.msgpack", []byte("wwW")); err != nil {
		t.Fatal(err)
	}
	c, aside, err := Latest(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta.Iteration != 2 || len(aside) != 1 {
		t.Errorf("Latest = iteration %d, set aside %v; want 2 and one", c.Meta.Iteration, aside)
	}
	keys, _ := s.List(ctx, "checkpoints/damaged")
	if len(keys) != 3 {
		t.Errorf("damaged keys = %v; want the 3 files of iter-000003", keys)
	}
	if err := Prune(ctx, s, 1); err != nil {
		t.Fatal(err)
	}
	if its, _ := List(ctx, s); len(its) != 1 || its[0] != 2 {
		t.Errorf("after Prune(1): %v; want [2]", its)
	}
}

func TestOpenStore(t *testing.T) {
	if s, _ := OpenStore("runs/x"); s.String() != "runs/x" {
		t.Errorf("OpenStore(runs/x) = %v; want a local store", s)
	}
	if _, err := OpenStore("s3://"); err == nil {
		t.Error("OpenStore(s3://) = nil error; want an error naming the form")
	}
}
