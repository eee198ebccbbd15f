package checkpoint

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestS3Lease: one holder at a time on an S3 run (gofakes3 on loopback);
// a second acquirer is refused naming the holder; a released lease or
// one whose heartbeat stopped for a TTL can be taken, and the holder
// that lost it finds out at its next heartbeat.
func TestS3Lease(t *testing.T) {
	s := newS3(t)
	ctx := context.Background()
	opts := func(holder string) LeaseOptions {
		return LeaseOptions{Holder: holder, TTL: 3 * time.Second, Settle: 10 * time.Millisecond}
	}
	a, err := AcquireLease(ctx, s, opts("host a pid 1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLease(ctx, s, opts("host b pid 2"))
	var held *LeaseHeldError
	if !errors.As(err, &held) || held.Holder != "host a pid 1" || !strings.Contains(err.Error(), "host a pid 1") {
		t.Fatalf("second acquire while held: %v; want a *LeaseHeldError naming host a pid 1", err)
	}
	// The heartbeat keeps it alive past its TTL.
	time.Sleep(4 * time.Second)
	if _, err := AcquireLease(ctx, s, opts("host b pid 2")); !errors.As(err, &held) {
		t.Fatalf("acquire after a TTL of heartbeats: %v; want it still held", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, LeaseKey); err == nil {
		t.Error("released lease object still there")
	}
	b, err := AcquireLease(ctx, s, opts("host b pid 2"))
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	defer b.Release(ctx)

	// A holder whose clock says its heartbeat is a TTL old (a crashed
	// holder) is stale: c takes over, and b learns it lost the lease.
	past := time.Now().Add(-time.Minute)
	b.mu.Lock()
	b.rec.Heartbeat = past
	b.opts.Now = func() time.Time { return past }
	if err := b.write(ctx); err != nil {
		t.Fatal(err)
	}
	b.mu.Unlock()
	c, err := AcquireLease(ctx, s, opts("host c pid 3"))
	if err != nil {
		t.Fatalf("acquire over a stale lease: %v", err)
	}
	defer c.Release(ctx)
	if err := b.Renew(ctx); !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "host c pid 3") {
		t.Errorf("renew of a lease taken over: %v; want ErrLeaseLost naming host c pid 3", err)
	}
	if b.Err() == nil {
		t.Error("Err() is nil after the lease was lost")
	}
}
