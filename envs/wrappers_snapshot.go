package envs

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The wrappers are Snapshotters when the env they wrap is one: a snapshot
// is the wrapper's own state, length-prefixed, followed by the wrapped
// env's snapshot. Over an env that cannot snapshot, Snapshot and Restore
// return an error wrapping ErrNoSnapshot, so a checkpoint falls back to
// fresh episodes.

func wrapSnapshot(name string, inner Env, own []byte) ([]byte, error) {
	s, ok := inner.(Snapshotter)
	if !ok {
		return nil, fmt.Errorf("%s: %T: %w", name, inner, ErrNoSnapshot)
	}
	b, err := s.Snapshot()
	if err != nil {
		return nil, err
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(own)))
	out = append(out, own...)
	return append(out, b...), nil
}

// unwrapSnapshot restores inner from b and returns the wrapper's own part.
func unwrapSnapshot(name string, inner Env, b []byte) ([]byte, error) {
	s, ok := inner.(Snapshotter)
	if !ok {
		return nil, fmt.Errorf("%s: %T: %w", name, inner, ErrNoSnapshot)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: restore: snapshot of %d bytes is too short", name, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: restore: snapshot declares %d bytes of state, has %d", name, n, len(b)-8)
	}
	own := b[8 : 8+n]
	if err := s.Restore(b[8+n:]); err != nil {
		return nil, err
	}
	return own, nil
}

// snapReader reads the little-endian values a wrapper saved.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) u64() uint64 {
	if len(r.b) < 8 {
		r.err = fmt.Errorf("snapshot too short")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *snapReader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *snapReader) f32s(dst []float32) {
	for i := range dst {
		if len(r.b) < 4 {
			r.err = fmt.Errorf("snapshot too short")
			return
		}
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.b))
		r.b = r.b[4:]
	}
}

func (r *snapReader) done(name string) error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes too many", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("%s: restore: %w", name, r.err)
	}
	return nil
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendRMS(b []byte, r *RunningMeanStd) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(r.Mean)))
	for _, v := range r.Mean {
		b = appendF64(b, v)
	}
	for _, v := range r.Var {
		b = appendF64(b, v)
	}
	return appendF64(b, r.Count)
}

func (r *snapReader) rms() *RunningMeanStd {
	n := r.u64()
	if r.err != nil || n > uint64(len(r.b))/16 {
		r.err = fmt.Errorf("snapshot too short")
		return nil
	}
	out := &RunningMeanStd{Mean: make([]float64, n), Var: make([]float64, n)}
	for i := range out.Mean {
		out.Mean[i] = r.f64()
	}
	for i := range out.Var {
		out.Var[i] = r.f64()
	}
	out.Count = r.f64()
	return out
}

// Snapshot saves the wrapped env (ClipAction has no state of its own).
func (c *ClipAction) Snapshot() ([]byte, error) { return wrapSnapshot("ClipAction", c.Env, nil) }

// Restore returns the wrapped env to a Snapshot.
func (c *ClipAction) Restore(b []byte) error {
	own, err := unwrapSnapshot("ClipAction", c.Env, b)
	if err == nil && len(own) != 0 {
		err = fmt.Errorf("ClipAction: restore: unexpected state")
	}
	return err
}

// Snapshot saves the wrapped env (TransformReward has no state of its own).
func (t *TransformReward) Snapshot() ([]byte, error) {
	return wrapSnapshot("TransformReward", t.Env, nil)
}

// Restore returns the wrapped env to a Snapshot.
func (t *TransformReward) Restore(b []byte) error {
	own, err := unwrapSnapshot("TransformReward", t.Env, b)
	if err == nil && len(own) != 0 {
		err = fmt.Errorf("TransformReward: restore: unexpected state")
	}
	return err
}

// Snapshot saves the stacked frames and the wrapped env.
func (f *FrameStack) Snapshot() ([]byte, error) {
	own := make([]byte, 0, 4*len(f.buf))
	for _, v := range f.buf {
		own = binary.LittleEndian.AppendUint32(own, math.Float32bits(v))
	}
	return wrapSnapshot("FrameStack", f.Env, own)
}

// Restore returns the stack and the wrapped env to a Snapshot.
func (f *FrameStack) Restore(b []byte) error {
	own, err := unwrapSnapshot("FrameStack", f.Env, b)
	if err != nil {
		return err
	}
	buf := make([]float32, len(f.buf))
	r := snapReader{b: own}
	r.f32s(buf)
	if err := r.done("FrameStack"); err != nil {
		return err
	}
	copy(f.buf, buf)
	return nil
}

// Snapshot saves the running episode's return and length and the wrapped
// env. (The episode's wall-clock time restarts at Restore.)
func (e *EpisodeStatistics) Snapshot() ([]byte, error) {
	own := appendF64(nil, e.ret)
	own = binary.LittleEndian.AppendUint64(own, uint64(e.length))
	return wrapSnapshot("EpisodeStatistics", e.Env, own)
}

// Restore returns the episode statistics and the wrapped env to a Snapshot.
func (e *EpisodeStatistics) Restore(b []byte) error {
	own, err := unwrapSnapshot("EpisodeStatistics", e.Env, b)
	if err != nil {
		return err
	}
	r := snapReader{b: own}
	ret, length := r.f64(), r.u64()
	if err := r.done("EpisodeStatistics"); err != nil {
		return err
	}
	e.ret, e.length, e.start = ret, int(length), time.Now()
	return nil
}

// Snapshot saves the running statistics and the wrapped env.
func (n *NormalizeObservation) Snapshot() ([]byte, error) {
	return wrapSnapshot("NormalizeObservation", n.Env, appendRMS(nil, n.RMS))
}

// Restore returns the statistics and the wrapped env to a Snapshot.
func (n *NormalizeObservation) Restore(b []byte) error {
	own, err := unwrapSnapshot("NormalizeObservation", n.Env, b)
	if err != nil {
		return err
	}
	r := snapReader{b: own}
	rms := r.rms()
	if err := r.done("NormalizeObservation"); err != nil {
		return err
	}
	if len(rms.Mean) != n.inner.Size() {
		return fmt.Errorf("NormalizeObservation: restore: statistics of %d values, want %d", len(rms.Mean), n.inner.Size())
	}
	n.setRMS(rms)
	return nil
}

// Snapshot saves the discounted return, its statistics and the wrapped env.
func (n *NormalizeReward) Snapshot() ([]byte, error) {
	return wrapSnapshot("NormalizeReward", n.Env, appendRMS(appendF64(nil, n.G), n.RMS))
}

// Restore returns the discounted return, its statistics and the wrapped
// env to a Snapshot.
func (n *NormalizeReward) Restore(b []byte) error {
	own, err := unwrapSnapshot("NormalizeReward", n.Env, b)
	if err != nil {
		return err
	}
	r := snapReader{b: own}
	g := r.f64()
	rms := r.rms()
	if err := r.done("NormalizeReward"); err != nil {
		return err
	}
	if len(rms.Mean) != 1 {
		return fmt.Errorf("NormalizeReward: restore: statistics of %d values, want 1", len(rms.Mean))
	}
	n.G = g
	if n.RMS == nil {
		n.RMS = rms
	} else {
		*n.RMS = *rms
	}
	return nil
}

// setRMS restores the statistics in place, so that wrappers sharing one
// RunningMeanStd keep sharing it.
func (n *NormalizeObservation) setRMS(rms *RunningMeanStd) {
	if n.RMS == nil {
		n.RMS = rms
		return
	}
	*n.RMS = *rms
}
