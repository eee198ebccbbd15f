package envs_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

var (
	nan32 = float32(math.NaN())
	inf32 = float32(math.Inf(1))
)

func TestNewBox(t *testing.T) {
	low, high := []float32{-1, 0}, []float32{1, 2}
	b := envs.NewBox(low, high)
	low[0], high[0] = -5, 5 // the box keeps its own copies
	if !slices.Equal(b.Low, []float32{-1, 0}) || !slices.Equal(b.High, []float32{1, 2}) {
		t.Errorf("NewBox bounds = %v, %v after the inputs changed; want [-1 0], [1 2]", b.Low, b.High)
	}
	if b.Size() != 2 || !slices.Equal(b.Shape(), []int{2}) {
		t.Errorf("Size(), Shape() = %d, %v; want 2, [2]", b.Size(), b.Shape())
	}
	u := envs.UniformBox(3, -2, 4)
	if !slices.Equal(u.Low, []float32{-2, -2, -2}) || !slices.Equal(u.High, []float32{4, 4, 4}) {
		t.Errorf("UniformBox(3, -2, 4) = %v, %v; want [-2 -2 -2], [4 4 4]", u.Low, u.High)
	}
	for _, tt := range []struct {
		name      string
		low, high []float32
	}{
		{"lengths differ", []float32{0}, []float32{1, 2}},
		{"low above high", []float32{0, 3}, []float32{1, 2}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewBox(%v, %v) (%s) did not panic", tt.low, tt.high, tt.name)
				}
			}()
			envs.NewBox(tt.low, tt.high)
		}()
	}
}

func TestBoxShapeDims(t *testing.T) {
	b := &envs.Box{Low: make([]float32, 6), High: make([]float32, 6), Dims: []int{2, 3}}
	s := b.Shape()
	if !slices.Equal(s, []int{2, 3}) {
		t.Fatalf("Shape() = %v; want [2 3]", s)
	}
	s[0] = 99
	if !slices.Equal(b.Dims, []int{2, 3}) {
		t.Errorf("changing Shape()'s result changed Dims to %v; want [2 3]", b.Dims)
	}
}

func TestBoxContains(t *testing.T) {
	b := envs.NewBox([]float32{-1, 0}, []float32{1, 2})
	half := envs.NewBox([]float32{0, float32(math.Inf(-1))}, []float32{inf32, 0})
	free := envs.UniformBox(2, float32(math.Inf(-1)), inf32)
	tests := []struct {
		name string
		box  *envs.Box
		x    []float32
		want bool
	}{
		{"inside", b, []float32{0, 1}, true},
		{"on low", b, []float32{-1, 0}, true},
		{"on high", b, []float32{1, 2}, true},
		{"below", b, []float32{-1.0001, 1}, false},
		{"above", b, []float32{0, 2.0001}, false},
		{"NaN first", b, []float32{nan32, 1}, false},
		{"NaN second", b, []float32{0, nan32}, false},
		{"short", b, []float32{0}, false},
		{"long", b, []float32{0, 1, 1}, false},
		{"nil", b, nil, false},
		{"half-bounded inside", half, []float32{1e30, -1e30}, true},
		{"half-bounded outside", half, []float32{-1, -1}, false},
		{"half-bounded Inf", half, []float32{inf32, float32(math.Inf(-1))}, true},
		{"unbounded", free, []float32{-3e38, 3e38}, true},
		{"unbounded NaN", free, []float32{nan32, 0}, false},
	}
	for _, tt := range tests {
		if got := tt.box.Contains(tt.x); got != tt.want {
			t.Errorf("%s: %v.Contains(%v) = %v; want %v", tt.name, tt.box, tt.x, got, tt.want)
		}
		if got := tt.box.ContainsAction(envs.ContinuousAction(tt.x...)); got != tt.want {
			t.Errorf("%s: %v.ContainsAction(%v) = %v; want %v", tt.name, tt.box, tt.x, got, tt.want)
		}
	}
}

func TestBoxSampleBounded(t *testing.T) {
	boxes := []*envs.Box{
		envs.NewBox([]float32{-1, 0, 5, -1e-3}, []float32{1, 2, 5, 1e-3}),
		envs.UniformBox(3, -math.MaxFloat32, math.MaxFloat32),
		envs.NewBox([]float32{0.1, -2.4}, []float32{0.2, 2.4}),
	}
	for _, b := range boxes {
		rng := envs.NewRand(1, 2)
		lo := make([]float32, b.Size())
		hi := make([]float32, b.Size())
		copy(lo, b.High)
		copy(hi, b.Low)
		for range 10000 {
			x := b.Sample(rng)
			if !b.Contains(x) {
				t.Fatalf("%v.Sample() = %v; want it inside the box", b, x)
			}
			for i, v := range x {
				lo[i], hi[i] = min(lo[i], v), max(hi[i], v)
			}
			if a := b.SampleAction(rng); !b.ContainsAction(a) {
				t.Fatalf("%v.SampleAction() = %v; want it inside the box", b, a)
			}
		}
		// Uniform: 10000 draws reach within 1% of each end.
		for i := range lo {
			span := float64(b.High[i]) - float64(b.Low[i])
			if float64(lo[i])-float64(b.Low[i]) > 0.01*span || float64(b.High[i])-float64(hi[i]) > 0.01*span {
				t.Errorf("%v.Sample()[%d] ranged over [%v, %v]; want nearly [%v, %v]", b, i, lo[i], hi[i], b.Low[i], b.High[i])
			}
		}
	}
}

func TestBoxSampleUnbounded(t *testing.T) {
	ninf := float32(math.Inf(-1))
	b := envs.NewBox([]float32{3, ninf, ninf}, []float32{inf32, -3, inf32})
	rng := envs.NewRand(9, 0)
	var sum float64
	const n = 20000
	for range n {
		x := b.Sample(rng)
		if !b.Contains(x) {
			t.Fatalf("%v.Sample() = %v; want it inside the box", b, x)
		}
		for _, v := range x {
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				t.Fatalf("%v.Sample() = %v; want finite values", b, x)
			}
		}
		sum += float64(x[2])
	}
	if mean := sum / n; math.Abs(mean) > 0.05 {
		t.Errorf("mean of the unbounded dimension = %v; want about 0 (standard normal)", mean)
	}
}

func TestBoxSampleDeterministic(t *testing.T) {
	b := envs.UniformBox(4, -1, 1)
	r1, r2, r3 := envs.NewRand(5, 1), envs.NewRand(5, 1), envs.NewRand(5, 2)
	for range 10 {
		x, y, z := b.Sample(r1), b.Sample(r2), b.Sample(r3)
		if !slices.Equal(x, y) {
			t.Fatalf("Sample with equal rngs = %v, %v; want equal", x, y)
		}
		if slices.Equal(x, z) {
			t.Fatalf("Sample with rngs of different streams = %v, %v; want different", x, z)
		}
	}
}

func TestBoxClip(t *testing.T) {
	b := envs.NewBox([]float32{-1, 0, -inf32}, []float32{1, 2, inf32})
	tests := []struct {
		x, want []float32
	}{
		{[]float32{0, 1, 5}, []float32{0, 1, 5}},
		{[]float32{-3, 3, -1e30}, []float32{-1, 2, -1e30}},
		{[]float32{1, 0, inf32}, []float32{1, 0, inf32}},
		{[]float32{inf32, -inf32, 0}, []float32{1, 0, 0}},
	}
	for _, tt := range tests {
		if got := b.Clip(nil, tt.x); !slices.Equal(got, tt.want) {
			t.Errorf("Clip(nil, %v) = %v; want %v", tt.x, got, tt.want)
		}
	}
	// NaN stays NaN, as with numpy.clip.
	if got := b.Clip(nil, []float32{nan32, 1, 0}); !math.IsNaN(float64(got[0])) {
		t.Errorf("Clip(nil, [NaN 1 0]) = %v; want NaN first", got)
	}
	// A long enough dst is reused; x is left alone.
	dst := make([]float32, 1, 8)
	x := []float32{-5, 5, 0}
	got := b.Clip(dst, x)
	if &got[0] != &dst[:1][0] || len(got) != 3 {
		t.Errorf("Clip(dst with cap 8, x) allocated or has len %d; want dst[:3]", len(got))
	}
	if !slices.Equal(x, []float32{-5, 5, 0}) {
		t.Errorf("Clip changed x to %v", x)
	}
	// Clipping in place.
	if got := b.Clip(x, x); !slices.Equal(got, []float32{-1, 2, 0}) || &got[0] != &x[0] {
		t.Errorf("Clip(x, x) = %v; want [-1 2 0] in x", got)
	}
}

func TestBoxString(t *testing.T) {
	s := envs.UniformBox(2, -1, 1).String()
	if !strings.HasPrefix(s, "Box(") || !strings.HasSuffix(s, "float32)") {
		t.Errorf("String() = %q; want Box(..., float32)", s)
	}
}

func TestDiscrete(t *testing.T) {
	d := envs.Discrete{N: 4}
	tests := []struct {
		i    int
		want bool
	}{{-1, false}, {0, true}, {3, true}, {4, false}, {100, false}}
	for _, tt := range tests {
		if got := d.Contains(tt.i); got != tt.want {
			t.Errorf("%v.Contains(%d) = %v; want %v", d, tt.i, got, tt.want)
		}
		if got := d.ContainsAction(envs.DiscreteAction(tt.i)); got != tt.want {
			t.Errorf("%v.ContainsAction(%d) = %v; want %v", d, tt.i, got, tt.want)
		}
	}
	if s := d.Shape(); len(s) != 0 {
		t.Errorf("Shape() = %v; want ()", s)
	}
	if s := d.String(); s != "Discrete(4)" {
		t.Errorf("String() = %q; want %q", s, "Discrete(4)")
	}
	rng := envs.NewRand(3, 0)
	counts := make([]int, d.N)
	for range 4000 {
		i := d.Sample(rng)
		if !d.Contains(i) {
			t.Fatalf("Sample() = %d; want in [0, 4)", i)
		}
		counts[i]++
		if a := d.SampleAction(rng); !d.ContainsAction(a) || a.Continuous != nil {
			t.Fatalf("SampleAction() = %+v; want a discrete action in [0, 4)", a)
		}
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("Sample() drew %d %d times in 4000; want about 1000", i, c)
		}
	}
	if n := (envs.Discrete{N: 1}).Sample(rng); n != 0 {
		t.Errorf("Discrete(1).Sample() = %d; want 0", n)
	}
}

func TestNewRand(t *testing.T) {
	a, b, c, d := envs.NewRand(1, 0), envs.NewRand(1, 0), envs.NewRand(1, 1), envs.NewRand(2, 0)
	x, y, z, w := a.Uint64(), b.Uint64(), c.Uint64(), d.Uint64()
	if x != y {
		t.Errorf("NewRand(1, 0) drew %d and %d; want equal", x, y)
	}
	if x == z || x == w {
		t.Errorf("NewRand(1, 0), (1, 1), (2, 0) drew %d, %d, %d; want all different", x, z, w)
	}
}
