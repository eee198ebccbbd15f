package envs

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Snapshotter is implemented by envs that can save and restore their whole
// state (physical state, random source, step counts), so a checkpointed
// run resumes mid-episode exactly where it stopped. It is optional: an env
// without it resumes with a fresh episode. The bytes are the env's own;
// Restore must reject bytes it cannot use with an error, never panic.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(snapshot []byte) error
}

// RNG is rlgo's random source with a state that can be saved: a *rand.Rand
// over a PCG generator (see NewRand), whose state MarshalBinary captures.
type RNG struct {
	*rand.Rand
	pcg *rand.PCG
}

// NewRNG returns an RNG seeded as NewRand(seed, stream) is.
func NewRNG(seed, stream uint64) *RNG {
	pcg := rand.NewPCG(seed, stream^0x9e3779b97f4a7c15)
	return &RNG{Rand: rand.New(pcg), pcg: pcg}
}

// MarshalBinary returns the generator's state.
func (r *RNG) MarshalBinary() ([]byte, error) { return r.pcg.MarshalBinary() }

// UnmarshalBinary restores a state from MarshalBinary.
func (r *RNG) UnmarshalBinary(b []byte) error {
	if err := r.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("restore random state: %w", err)
	}
	return nil
}

// ErrNoSnapshot is wrapped when an env in a VectorEnv cannot snapshot.
var ErrNoSnapshot = errors.New("env cannot snapshot its state")

// VectorState is a VectorEnv's saved state: every sub-env's snapshot and
// the statistics of their unfinished episodes.
type VectorState struct {
	Envs    [][]byte  `msgpack:"envs"`
	Returns []float64 `msgpack:"returns"`
	Lengths []int     `msgpack:"lengths"`
	Obs     []float32 `msgpack:"obs"`
	Steps   int64     `msgpack:"steps"`
}

// Snapshot saves every sub-env (each must be a Snapshotter, else the error
// wraps ErrNoSnapshot) and the running episode statistics.
func (v *VectorEnv) Snapshot() (*VectorState, error) {
	st := &VectorState{
		Returns: append([]float64(nil), v.ret...),
		Lengths: append([]int(nil), v.length...),
		Obs:     append([]float32(nil), v.obs...),
		Steps:   v.steps,
	}
	for i, e := range v.envs {
		s, ok := e.(Snapshotter)
		if !ok {
			return nil, fmt.Errorf("env %d (%T): %w", i, e, ErrNoSnapshot)
		}
		b, err := s.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("env %d: %w", i, err)
		}
		st.Envs = append(st.Envs, b)
	}
	return st, nil
}

// Restore returns the VectorEnv to a Snapshot taken of one with the same
// number and kind of sub-envs.
func (v *VectorEnv) Restore(st *VectorState) error {
	n := len(v.envs)
	if len(st.Envs) != n || len(st.Returns) != n || len(st.Lengths) != n || len(st.Obs) != len(v.obs) {
		return fmt.Errorf("vector env: snapshot of %d envs with %d observation values does not fit %d envs with %d", len(st.Envs), len(st.Obs), n, len(v.obs))
	}
	for i, e := range v.envs {
		s, ok := e.(Snapshotter)
		if !ok {
			return fmt.Errorf("env %d (%T): %w", i, e, ErrNoSnapshot)
		}
		if err := s.Restore(st.Envs[i]); err != nil {
			return fmt.Errorf("env %d: %w", i, err)
		}
	}
	copy(v.ret, st.Returns)
	copy(v.length, st.Lengths)
	copy(v.obs, st.Obs)
	v.steps = st.Steps
	return nil
}
