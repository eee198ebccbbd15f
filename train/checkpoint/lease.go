package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"
)

// LeaseKey is the object that holds the lease of a run kept in an object
// store (s3://...), beside config.yaml.
const LeaseKey = "rltrain.lease"

// DefaultLeaseTTL is how long a lease stays valid without a heartbeat.
const DefaultLeaseTTL = 60 * time.Second

// LeaseRecord is the content of the lease object.
type LeaseRecord struct {
	// Holder names the holding process for people: "host h pid 1234".
	Holder string `json:"holder"`
	// Token identifies one acquisition (holder and start time).
	Token string `json:"token"`
	// Heartbeat is when the holder last renewed the lease.
	Heartbeat time.Time `json:"heartbeat"`
	// TTLS is how many seconds after Heartbeat the lease lapses.
	TTLS float64 `json:"ttl_s"`
}

// LeaseHeldError is returned by AcquireLease when another process holds
// a live lease.
type LeaseHeldError struct {
	// Location is the store's location.
	Location string
	// Holder is the holder's LeaseRecord.Holder.
	Holder string
	// Age is the time since the holder's last heartbeat.
	Age time.Duration
	// TTL is the lease's time to live.
	TTL time.Duration
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("%s is in use by another rltrain (%s, heartbeat %s ago; a lease not renewed for %s lapses)",
		e.Location, e.Holder, e.Age.Round(time.Second), e.TTL)
}

// ErrLeaseLost is reported by Lease.Err once another process has taken
// the lease over (this holder missed its heartbeats for a TTL).
var ErrLeaseLost = errors.New("lease lost")

// LeaseOptions configure AcquireLease.
type LeaseOptions struct {
	// Holder names this process ("host h pid 1234").
	Holder string
	// TTL is how long the lease lives without a heartbeat; 0 means
	// DefaultLeaseTTL. The lease is renewed every TTL/3.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Settle is how long AcquireLease waits after writing the lease
	// before reading it back, to see a concurrent writer; 0 means 1 s.
	Settle time.Duration
}

// Lease is a held lease on a run in an object store: a run directory
// lock for stores that have no locks. It is renewed in the background
// until Release.
type Lease struct {
	store Store
	opts  LeaseOptions
	rec   LeaseRecord
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

// AcquireLease takes the lease of the run in s: it fails with a
// *LeaseHeldError while another holder's heartbeat is younger than its
// TTL, and otherwise writes its own record, waits opts.Settle and reads
// it back, so of two processes starting together the one whose write
// lost finds out. Object stores have no compare-and-swap for every
// provider, so two starts within the settle time can still both
// proceed; the heartbeat then reads the lease before renewing it, and
// the holder that finds another's record stops (Err).
func AcquireLease(ctx context.Context, s Store, opts LeaseOptions) (*Lease, error) {
	if opts.TTL <= 0 {
		opts.TTL = DefaultLeaseTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Settle <= 0 {
		opts.Settle = time.Second
	}
	if cur, ok, err := readLease(ctx, s); err != nil {
		return nil, err
	} else if ok {
		if err := live(s, cur, opts.Now()); err != nil {
			return nil, err
		}
	}
	now := opts.Now()
	l := &Lease{store: s, opts: opts, stop: make(chan struct{}), done: make(chan struct{}),
		rec: LeaseRecord{Holder: opts.Holder, Token: fmt.Sprintf("%s at %s", opts.Holder, now.UTC().Format(time.RFC3339Nano)), Heartbeat: now, TTLS: opts.TTL.Seconds()}}
	if err := l.write(ctx); err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(opts.Settle):
	}
	cur, ok, err := readLease(ctx, s)
	if err != nil {
		return nil, err
	}
	if !ok || cur.Token != l.rec.Token {
		if ok {
			return nil, &LeaseHeldError{Location: s.String(), Holder: cur.Holder, TTL: opts.TTL}
		}
		return nil, fmt.Errorf("lease %s/%s vanished after it was written", s, LeaseKey)
	}
	go l.heartbeat()
	return l, nil
}

func live(s Store, cur LeaseRecord, now time.Time) error {
	ttl := time.Duration(cur.TTLS * float64(time.Second))
	if age := now.Sub(cur.Heartbeat); age < ttl {
		return &LeaseHeldError{Location: s.String(), Holder: cur.Holder, Age: max(age, 0), TTL: ttl}
	}
	return nil
}

func readLease(ctx context.Context, s Store) (LeaseRecord, bool, error) {
	b, err := s.Get(ctx, LeaseKey)
	if errors.Is(err, fs.ErrNotExist) {
		return LeaseRecord{}, false, nil
	}
	if err != nil {
		return LeaseRecord{}, false, fmt.Errorf("read lease: %w", err)
	}
	var r LeaseRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return LeaseRecord{}, false, nil // unreadable: nobody holds it
	}
	return r, true, nil
}

func (l *Lease) write(ctx context.Context) error {
	b, err := json.MarshalIndent(l.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := l.store.Put(ctx, LeaseKey, append(b, '\n')); err != nil {
		return fmt.Errorf("write lease: %w", err)
	}
	return nil
}

// heartbeat renews the lease every TTL/3 until Release, after checking
// that the record is still this holder's.
func (l *Lease) heartbeat() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.TTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.TTL/3)
		err := l.Renew(ctx)
		cancel()
		if errors.Is(err, ErrLeaseLost) {
			return
		}
	}
}

// Renew checks that the lease is still this holder's and renews its
// heartbeat. It returns an error wrapping ErrLeaseLost once another
// process holds it; other errors (the store unreachable) are returned
// and retried at the next heartbeat.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	cur, ok, err := readLease(ctx, l.store)
	if err != nil {
		return err
	}
	if ok && cur.Token != l.rec.Token {
		l.err = fmt.Errorf("%s: %w to %s (this process missed its heartbeats for %s)", l.store, ErrLeaseLost, cur.Holder, l.opts.TTL)
		return l.err
	}
	l.rec.Heartbeat = l.opts.Now()
	return l.write(ctx)
}

// Err returns nil while the lease is held, and an error wrapping
// ErrLeaseLost once another process has taken it over.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release stops the heartbeat and deletes the lease object if it is
// still this holder's.
func (l *Lease) Release(ctx context.Context) error {
	select {
	case <-l.stop:
		return nil // released already
	default:
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil
	}
	cur, ok, err := readLease(ctx, l.store)
	if err != nil {
		return err
	}
	if ok && cur.Token == l.rec.Token {
		return l.store.Delete(ctx, LeaseKey)
	}
	return nil
}
