package classic

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rlgo/rlgo/envs"
)

// snapshot is the classic envs' envs.Snapshotter encoding: the physical
// state as little-endian float64s, then extra bytes of env-specific
// state, then the random source's PCG state.
func snapshot(state []float64, extra []byte, rng *envs.RNG) ([]byte, error) {
	r, err := rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 8*len(state)+len(extra)+len(r))
	for _, v := range state {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return append(append(b, extra...), r...), nil
}

// restore decodes a snapshot of len(state) float64s and len(extra) bytes
// into state, extra and rng; name prefixes its errors. Nothing but the
// random source is changed unless the snapshot is long enough.
func restore(name string, b []byte, state []float64, extra []byte, rng *envs.RNG) error {
	n := 8*len(state) + len(extra)
	if len(b) < n {
		return fmt.Errorf("%s: restore: snapshot of %d bytes is too short", name, len(b))
	}
	if err := rng.UnmarshalBinary(b[n:]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for i := range state {
		state[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}
	copy(extra, b[8*len(state):n])
	return nil
}
