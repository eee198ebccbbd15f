package minatar

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRandomStateMatchesNumPy checks seeding and every draw MinAtar makes
// against testdata/numpy_draws.txt, written by Debian's NumPy 1.24.2
// (testdata/gen_transcripts.py).
func TestRandomStateMatchesNumPy(t *testing.T) {
	f, err := os.Open("testdata/numpy_draws.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	checked := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		r := &RandomState{}
		switch fs[0] {
		case "seed":
			s, err := strconv.ParseUint(fs[1], 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			r.SeedUint32(uint32(s))
		case "array":
			var key []uint32
			for _, k := range strings.Split(fs[1], ",") {
				v, err := strconv.ParseUint(k, 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				key = append(key, uint32(v))
			}
			r.SeedArray(key)
		default:
			t.Fatalf("cannot parse %q", line)
		}
		kind, vals := fs[2], fs[3:]
		var low, high int64
		if kind == "randint" || kind == "randint_size" {
			low, _ = strconv.ParseInt(vals[0], 10, 64)
			high, _ = strconv.ParseInt(vals[1], 10, 64)
			vals = vals[2:]
		}
		for i, v := range vals {
			var got, want string
			switch kind {
			case "uint32":
				got, want = strconv.FormatUint(uint64(r.Uint32()), 10), v
			case "random", "rand8":
				w, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				got, want = strconv.FormatFloat(r.RandomSample(), 'g', -1, 64), strconv.FormatFloat(w, 'g', -1, 64)
			case "randint", "randint_size":
				got, want = strconv.FormatInt(r.RandInt(low, high), 10), v
			case "mixed": // rand(), randint(1 + i%7) alternately
				if i%2 == 0 {
					w, _ := strconv.ParseFloat(v, 64)
					got, want = strconv.FormatFloat(r.RandomSample(), 'g', -1, 64), strconv.FormatFloat(w, 'g', -1, 64)
				} else {
					got, want = strconv.FormatInt(r.RandInt(0, int64(1+(i/2)%7)), 10), v
				}
			default:
				t.Fatalf("unknown draw %q", kind)
			}
			if got != want {
				t.Fatalf("%s: draw %d: got %s, want %s", strings.Join(fs[:3], " "), i, got, want)
			}
			checked++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 2000 {
		t.Fatalf("only %d draws checked", checked)
	}
}

func TestSeedMapping(t *testing.T) {
	tests := []struct {
		seed uint64
		want func(r *RandomState)
	}{
		{0, func(r *RandomState) { r.SeedUint32(0) }},
		{1<<32 - 1, func(r *RandomState) { r.SeedUint32(1<<32 - 1) }},
		{1 << 32, func(r *RandomState) { r.SeedArray([]uint32{0, 1}) }},
		{1<<40 + 3, func(r *RandomState) { r.SeedArray([]uint32{3, 256}) }},
	}
	for _, tt := range tests {
		var want RandomState
		tt.want(&want)
		if got := NewRandomState(tt.seed); *got != want {
			t.Errorf("NewRandomState(%d) differs from its NumPy mapping", tt.seed)
		}
	}
}

func TestRandomStateMarshal(t *testing.T) {
	r := NewRandomState(3)
	for range 700 { // past a regeneration of the key
		r.Uint32()
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var c RandomState
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if x, y := r.Uint32(), c.Uint32(); x != y {
			t.Fatalf("draw %d after restore: %d != %d", i, y, x)
		}
	}
	for _, bad := range [][]byte{nil, b[:10], append(append([]byte(nil), b[:len(b)-4]...), 0xff, 0xff, 0, 0)} {
		if err := c.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary accepted %d bad bytes", len(bad))
		}
	}
}
