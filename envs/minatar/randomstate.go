package minatar

import (
	"encoding/binary"
	"fmt"
)

// mtN and mtM are MT19937's state length and shift (Matsumoto & Nishimura 1998).
const (
	mtN = 624
	mtM = 397
)

// RandomState is NumPy's legacy generator np.random.RandomState: MT19937
// with the draws MinAtar makes (random_sample, randint), bit for bit as
// NumPy's _legacy_seeding, mt19937.c and distributions.c compute them.
// The zero value is not seeded: use NewRandomState or a Seed method.
type RandomState struct {
	key [mtN]uint32
	pos int
}

// NewRandomState returns the generator MinAtar's Environment.seed(s) would
// make for rlgo's seed s: np.random.RandomState(s) for s < 2³²
// (init_genrand), and np.random.RandomState([s & 0xffffffff, s >> 32])
// (init_by_array) for larger seeds, which NumPy refuses as an int.
func NewRandomState(seed uint64) *RandomState {
	r := &RandomState{}
	r.Seed(seed)
	return r
}

// Seed reseeds r as NewRandomState does.
func (r *RandomState) Seed(seed uint64) {
	if seed < 1<<32 {
		r.SeedUint32(uint32(seed))
		return
	}
	r.SeedArray([]uint32{uint32(seed), uint32(seed >> 32)})
}

// SeedUint32 is np.random.RandomState(s) for an int s: init_genrand(s).
func (r *RandomState) SeedUint32(s uint32) {
	for i := range r.key {
		r.key[i] = s
		s = 1812433253*(s^(s>>30)) + uint32(i) + 1
	}
	r.pos = mtN
}

// SeedArray is np.random.RandomState(key) for a 1-d array of 32-bit
// words: init_by_array. It panics on an empty key, as NumPy refuses one.
func (r *RandomState) SeedArray(key []uint32) {
	if len(key) == 0 {
		panic("minatar: SeedArray: empty key")
	}
	r.SeedUint32(19650218)
	mt := &r.key
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			mt[0] = mt[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		mt[i] = (mt[i] ^ ((mt[i-1] ^ (mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			mt[0] = mt[mtN-1]
			i = 1
		}
	}
	mt[0] = 0x80000000
	r.pos = mtN
}

func (r *RandomState) generate() {
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	mt := &r.key
	var i int
	for i = 0; i < mtN-mtM; i++ {
		y := (mt[i] & upper) | (mt[i+1] & lower)
		mt[i] = mt[i+mtM] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	}
	for ; i < mtN-1; i++ {
		y := (mt[i] & upper) | (mt[i+1] & lower)
		mt[i] = mt[i+mtM-mtN] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	}
	y := (mt[mtN-1] & upper) | (mt[0] & lower)
	mt[mtN-1] = mt[mtM-1] ^ (y >> 1) ^ (-(y & 1) & matrixA)
	r.pos = 0
}

// Uint32 returns the next tempered 32-bit output of MT19937.
func (r *RandomState) Uint32() uint32 {
	if r.pos >= mtN {
		r.generate()
	}
	y := r.key[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// RandomSample is RandomState.random_sample() (and rand()): a double in
// [0, 1) with 53 random bits, from two outputs.
func (r *RandomState) RandomSample() float64 {
	a := r.Uint32() >> 5
	b := r.Uint32() >> 6
	return (float64(a)*67108864.0 + float64(b)) / 9007199254740992.0
}

// RandInt is RandomState.randint(low, high) for the default int64 dtype:
// uniform in [low, high) by NumPy's masked rejection sampling, which
// draws nothing when high-low is 1. It panics if high <= low (NumPy raises)
// or the range exceeds 2³² (not needed by MinAtar, not ported).
func (r *RandomState) RandInt(low, high int64) int64 {
	if high <= low {
		panic(fmt.Sprintf("minatar: RandInt: low %d >= high %d", low, high))
	}
	rng := uint64(high - 1 - low)
	switch {
	case rng == 0:
		return low
	case rng == 0xffffffff:
		return low + int64(r.Uint32())
	case rng > 0xffffffff:
		panic(fmt.Sprintf("minatar: RandInt: range %d beyond 2^32 is not ported", rng+1))
	}
	mask := uint32(rng)
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := r.Uint32() & mask; uint64(v) <= rng {
			return low + int64(v)
		}
	}
}

// randomStateSize is the length of MarshalBinary's output.
const randomStateSize = 4*mtN + 4

// MarshalBinary returns the generator's state: 624 key words and the
// position, little-endian.
func (r *RandomState) MarshalBinary() ([]byte, error) {
	return r.appendState(make([]byte, 0, randomStateSize)), nil
}

func (r *RandomState) appendState(b []byte) []byte {
	for _, k := range r.key {
		b = binary.LittleEndian.AppendUint32(b, k)
	}
	return binary.LittleEndian.AppendUint32(b, uint32(r.pos))
}

// UnmarshalBinary restores a state from MarshalBinary.
func (r *RandomState) UnmarshalBinary(b []byte) error {
	if len(b) != randomStateSize {
		return fmt.Errorf("random state: want %d bytes, got %d", randomStateSize, len(b))
	}
	pos := binary.LittleEndian.Uint32(b[4*mtN:])
	if pos > mtN {
		return fmt.Errorf("random state: position %d beyond %d", pos, mtN)
	}
	for i := range r.key {
		r.key[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	r.pos = int(pos)
	return nil
}
