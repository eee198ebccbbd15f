package serve

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// FrameStack says how the server stacks observations as training's
// frame_stack wrapper did (envs.FrameStack): the policy sees the last N
// frames, oldest first, and a client sends one frame per step with a
// session id.
type FrameStack struct {
	// N is the number of stacked frames (0 or 1: no stacking).
	N int
	// ZeroPadding fills the older frames of a new episode with zeros
	// (moved inside the frame's bounds), as padding: zero; by default
	// they repeat the first observation (padding: reset).
	ZeroPadding bool
}

// session is one client's frame stack and random stream.
type session struct {
	stack []float32
	src   *rand.PCG
	rng   *rand.Rand
	used  time.Time
}

// sessions holds the frame stacks of clients, at most max of them; one
// idle for longer than idle is forgotten.
type sessions struct {
	mu      sync.Mutex
	m       map[string]*session
	max     int
	idle    time.Duration
	n       int       // frames per stack
	frame   int       // values per frame
	pad     []float32 // zero padding within the bounds
	zeroPad bool
	now     func() time.Time
	seeds   func() (uint64, uint64)
}

func newSessions(fs FrameStack, obsLow, obsHigh []float32, maxSessions int, idle time.Duration, now func() time.Time, seeds func() (uint64, uint64)) (*sessions, error) {
	n := max1(fs.N)
	if len(obsLow)%n != 0 {
		return nil, fmt.Errorf("frame stack of %d: the observation's %d values are not %d frames", n, len(obsLow), n)
	}
	frame := len(obsLow) / n
	pad := make([]float32, frame)
	for i := range pad {
		pad[i] = min(max(0, obsLow[i]), obsHigh[i]) // envs.FrameStack's zero padding
	}
	return &sessions{m: map[string]*session{}, max: maxSessions, idle: idle, n: n, frame: frame, pad: pad, zeroPad: fs.ZeroPadding, now: now, seeds: seeds}, nil
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// errTooManySessions is answered when every session slot is taken by a
// session that is not idle.
type errTooManySessions struct{ max int }

func (e errTooManySessions) Error() string {
	return fmt.Sprintf("session: %d sessions are open (the limit); retry later or reuse one", e.max)
}

// step pushes frame onto the stack of session ref (a new session, or a
// new episode when reset, starts with the padding) and copies the stacked
// observation into dst. rngSeed, when not nil, receives a seed pair drawn
// from the session's own stream. A known session allocates nothing.
func (s *sessions) step(ref sessionRef, reset bool, frame, dst []float32, rngSeed *[2]uint64) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var ses *session
	if ref.b != nil {
		ses = s.m[string(ref.b)]
	} else {
		ses = s.m[ref.s]
	}
	if ses != nil && now.Sub(ses.used) > s.idle {
		reset = true // idle too long: a new episode
	}
	if ses == nil {
		if len(s.m) >= s.max {
			s.sweepLocked(now)
			if len(s.m) >= s.max {
				return errTooManySessions{s.max}
			}
		}
		key := ref.s
		if ref.b != nil {
			key = string(ref.b)
		}
		a, b := s.seeds()
		src := rand.NewPCG(a, b)
		ses = &session{stack: make([]float32, s.n*s.frame), src: src, rng: rand.New(src)}
		s.m[key] = ses
		reset = true
	}
	ses.used = now
	f := s.frame
	if reset {
		pad := s.pad
		if !s.zeroPad {
			pad = frame
		}
		for k := 0; k < s.n-1; k++ {
			copy(ses.stack[k*f:], pad)
		}
	} else {
		copy(ses.stack, ses.stack[f:])
	}
	copy(ses.stack[(s.n-1)*f:], frame)
	copy(dst, ses.stack)
	if rngSeed != nil {
		rngSeed[0], rngSeed[1] = ses.rng.Uint64(), ses.rng.Uint64()
	}
	return nil
}

// sweep forgets the sessions idle for longer than the idle timeout.
func (s *sessions) sweep() {
	now := s.now()
	s.mu.Lock()
	s.sweepLocked(now)
	s.mu.Unlock()
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, ses := range s.m {
		if now.Sub(ses.used) > s.idle {
			delete(s.m, k)
		}
	}
}

// len returns the number of open sessions.
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
