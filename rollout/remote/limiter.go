package remote

import (
	"context"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/peer"
)

// Register calls are rate-limited per peer address: a burst that lets a
// host start registerBurst worker processes at once, then registerRate a
// second. A worker refused retries with backoff (codes.ResourceExhausted).
const (
	registerRate  = 20.0
	registerBurst = 64
)

// peerLimiter is a token bucket per peer host.
type peerLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newPeerLimiter(rate float64, burst int) *peerLimiter {
	return &peerLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes a token from host's bucket at now, if it has one.
func (l *peerLimiter) allow(host string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[host]
	if b == nil {
		if len(l.buckets) >= 4096 {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[host] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// forgetFull drops the buckets that have refilled (they would start full
// again anyway). l.mu is held.
func (l *peerLimiter) forgetFull(now time.Time) {
	for h, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, h)
		}
	}
}

// peerHost is the host of the RPC's peer ("" if unknown).
func peerHost(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		return p.Addr.String()
	}
	return host
}
