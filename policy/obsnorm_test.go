package policy

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestObsNormApply proves that Apply computes clip((x − mean)/√(var + ε),
// −clip, clip) element by element, over several rows, against values
// worked out by hand.
func TestObsNormApply(t *testing.T) {
	tests := []struct {
		name string
		norm ObsNorm
		src  []float32
		want []float32
	}{
		{
			name: "one row",
			norm: ObsNorm{Mean: []float64{1, -2}, Var: []float64{4, 0.25}, Clip: 10},
			src:  []float32{3, -1.5},
			want: []float32{1, 1}, // (3−1)/2, (−1.5+2)/0.5
		},
		{
			name: "three rows",
			norm: ObsNorm{Mean: []float64{1, -2}, Var: []float64{4, 0.25}, Clip: 10},
			src:  []float32{3, -1.5, 1, -2, -3, -3},
			want: []float32{1, 1, 0, 0, -2, -2},
		},
		{
			name: "clipped both ways",
			norm: ObsNorm{Mean: []float64{0, 0, 0}, Var: []float64{1, 1, 1}, Clip: 3},
			src:  []float32{100, -100, 2.5},
			want: []float32{3, -3, 2.5},
		},
		{
			name: "epsilon added to the variance",
			norm: ObsNorm{Mean: []float64{10}, Var: []float64{0}, Clip: 100, Epsilon: 0.25},
			src:  []float32{11, 9},
			want: []float32{2, -2}, // ±1/√0.25
		},
		{
			name: "infinite clip: no clipping",
			norm: ObsNorm{Mean: []float64{0}, Var: []float64{0.01}, Clip: math.Inf(1)},
			src:  []float32{50},
			want: []float32{500},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, len(tt.src))
			tt.norm.Apply(dst, tt.src)
			for i := range dst {
				if math.Abs(float64(dst[i]-tt.want[i])) > 1e-6*math.Max(1, math.Abs(float64(tt.want[i]))) {
					t.Errorf("Apply(%v) = %v, want %v", tt.src, dst, tt.want)
					break
				}
			}
			// In place gives the same.
			in := append([]float32(nil), tt.src...)
			tt.norm.Apply(in, in)
			if !reflect.DeepEqual(in, dst) {
				t.Errorf("Apply in place = %v, want %v", in, dst)
			}
		})
	}
}

// TestNewObsNorm proves the empty statistics are mean 0, variance 1,
// count 0, with the default clip (10) for clip ≤ 0 and epsilon 1e-8, and
// that Clone is deep.
func TestNewObsNorm(t *testing.T) {
	for _, tt := range []struct{ clip, want float64 }{{0, 10}, {-1, 10}, {5, 5}} {
		n := NewObsNorm(3, tt.clip)
		want := &ObsNorm{Mean: []float64{0, 0, 0}, Var: []float64{1, 1, 1}, Clip: tt.want, Epsilon: 1e-8}
		if !reflect.DeepEqual(n, want) {
			t.Errorf("NewObsNorm(3, %v) = %+v, want %+v", tt.clip, n, want)
		}
		if err := n.Validate(3); err != nil {
			t.Errorf("NewObsNorm(3, %v).Validate = %v", tt.clip, err)
		}
	}
	n := NewObsNorm(2, 0)
	c := n.Clone()
	c.Mean[0], c.Var[1], c.Count = 5, 7, 9
	if n.Mean[0] != 0 || n.Var[1] != 1 || n.Count != 0 {
		t.Errorf("Clone shares its slices with the original: %+v", n)
	}
	if (*ObsNorm)(nil).Clone() != nil {
		t.Error("nil.Clone() != nil")
	}
}

// moments returns the per-element mean and population variance of rows of
// dim values, in float64 with two passes: the reference for the merges.
func moments(data []float32, dim int) (mean, vr []float64) {
	mean, vr = make([]float64, dim), make([]float64, dim)
	k := float64(len(data) / dim)
	for i, x := range data {
		mean[i%dim] += float64(x)
	}
	for j := range mean {
		mean[j] /= k
	}
	for i, x := range data {
		d := float64(x) - mean[i%dim]
		vr[i%dim] += d * d
	}
	for j := range vr {
		vr[j] /= k
	}
	return mean, vr
}

// TestObsNormMergeEqualsConcatenated proves that merging the ObsStats of
// several chunks of data into an ObsNorm (the learner merging the
// fragments' statistics) gives the mean, variance and count of the
// concatenated data, to 1e-9, whatever the chunking.
func TestObsNormMergeEqualsConcatenated(t *testing.T) {
	const dim = 3
	rng := testRand()
	data := make([]float32, 0, 300*dim)
	for i := range 300 {
		data = append(data, float32(rng.NormFloat64()*3+5), float32(rng.Float64()*100-50), float32(i%7))
	}
	tests := []struct {
		name   string
		chunks []int // rows per chunk
	}{
		{"one chunk", []int{300}},
		{"two chunks", []int{100, 200}},
		{"uneven chunks", []int{1, 2, 97, 150, 50}},
		{"with an empty chunk", []int{120, 0, 180}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewObsNorm(dim, 0)
			off := 0
			for _, rows := range tt.chunks {
				s := NewObsStats(dim)
				// Update each chunk in two calls: Update accumulates too.
				half := rows / 2
				s.Update(data[off*dim : (off+half)*dim])
				s.Update(data[(off+half)*dim : (off+rows)*dim])
				if s.Count != float64(rows) {
					t.Fatalf("chunk of %d rows: count %v", rows, s.Count)
				}
				if err := s.Validate(dim); err != nil {
					t.Fatal(err)
				}
				n.Merge(s)
				off += rows
			}
			mean, vr := moments(data, dim)
			if n.Count != 300 {
				t.Errorf("count = %v, want 300", n.Count)
			}
			for j := range dim {
				if math.Abs(n.Mean[j]-mean[j]) > 1e-9*math.Max(1, math.Abs(mean[j])) || math.Abs(n.Var[j]-vr[j]) > 1e-9*math.Max(1, vr[j]) {
					t.Errorf("element %d: mean %v var %v; concatenated data has %v, %v", j, n.Mean[j], n.Var[j], mean[j], vr[j])
				}
			}
			if n.Clip != 10 || n.Epsilon != 1e-8 {
				t.Errorf("Merge changed clip or epsilon: %v, %v", n.Clip, n.Epsilon)
			}
		})
	}
}

// obsNormWeights returns small actor-critic weights carrying an ObsNorm.
func obsNormWeights() *Weights {
	w := ActorCriticSpec{ObsDim: 2, NumActions: 2, Model: ModelConfig{Hidden: []int{3}, Activation: Tanh}}.Init(testRand())
	w.Version = 4
	w.ObsNorm = &ObsNorm{Mean: []float64{0.5, -1.25}, Var: []float64{2, 0.125}, Count: 1234, Clip: 5, Epsilon: 1e-6}
	return w
}

// TestWeightsObsNormRoundTrip proves that ObsNorm survives Encode and
// UnmarshalWeights exactly, that weights without one decode without one,
// and that Clone copies it deeply.
func TestWeightsObsNormRoundTrip(t *testing.T) {
	for _, w := range []*Weights{obsNormWeights(), func() *Weights { w := obsNormWeights(); w.ObsNorm = nil; return w }()} {
		b, err := w.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalWeights(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("round trip = %+v\nwant %+v", got.ObsNorm, w.ObsNorm)
		}
	}
	w := obsNormWeights()
	c := w.Clone()
	if !reflect.DeepEqual(c.ObsNorm, w.ObsNorm) {
		t.Errorf("Clone's ObsNorm = %+v, want %+v", c.ObsNorm, w.ObsNorm)
	}
	c.ObsNorm.Mean[0], c.ObsNorm.Var[0] = 99, 99
	if w.ObsNorm.Mean[0] != 0.5 || w.ObsNorm.Var[0] != 2 {
		t.Error("Clone's ObsNorm shares slices with the original")
	}
}

// TestWeightsCopyFromObsNorm proves that CopyFrom copies the source's
// ObsNorm (without aliasing it), reuses the destination's slices when the
// size matches, replaces them when it does not, and clears the
// destination's when the source has none.
func TestWeightsCopyFromObsNorm(t *testing.T) {
	dst := obsNormWeights()
	dst.ObsNorm = nil
	src := obsNormWeights()

	steps := []struct {
		name  string
		set   *ObsNorm // src.ObsNorm for this step
		reuse bool     // dst's slices must be kept
	}{
		{"into none", &ObsNorm{Mean: []float64{1, 2}, Var: []float64{3, 4}, Count: 5, Clip: 6, Epsilon: 0.5}, false},
		{"same size", &ObsNorm{Mean: []float64{-1, -2}, Var: []float64{0.3, 0.4}, Count: 50, Clip: math.Inf(1), Epsilon: 1e-8}, true},
		{"other size", &ObsNorm{Mean: []float64{7, 8, 9}, Var: []float64{1, 1, 1}, Count: 1, Clip: 10, Epsilon: 1e-8}, false},
		{"cleared", nil, false},
		{"again after clearing", &ObsNorm{Mean: []float64{1, 1}, Var: []float64{2, 2}, Count: 3, Clip: 4, Epsilon: 0}, false},
	}
	for _, st := range steps {
		src.ObsNorm = st.set
		src.Version++
		var before *float64
		if dst.ObsNorm != nil && len(dst.ObsNorm.Mean) > 0 {
			before = &dst.ObsNorm.Mean[0]
		}
		if err := dst.CopyFrom(src); err != nil {
			t.Fatalf("%s: CopyFrom = %v", st.name, err)
		}
		if dst.Version != src.Version {
			t.Errorf("%s: version %d, want %d", st.name, dst.Version, src.Version)
		}
		if !reflect.DeepEqual(dst.ObsNorm, src.ObsNorm) {
			t.Errorf("%s: dst.ObsNorm = %+v, want %+v", st.name, dst.ObsNorm, src.ObsNorm)
			continue
		}
		if st.set == nil {
			continue
		}
		if dst.ObsNorm == src.ObsNorm || &dst.ObsNorm.Mean[0] == &src.ObsNorm.Mean[0] || &dst.ObsNorm.Var[0] == &src.ObsNorm.Var[0] {
			t.Errorf("%s: dst.ObsNorm aliases the source's", st.name)
		}
		if st.reuse && &dst.ObsNorm.Mean[0] != before {
			t.Errorf("%s: CopyFrom reallocated the means of an ObsNorm of the same size", st.name)
		}
	}
}

// TestObsNormValidateRejects proves that ObsNorm.Validate, Weights.Validate
// and UnmarshalWeights reject statistics that are non-finite, have a
// negative variance, mismatched lengths, or bad clip, epsilon or count;
// and that ObsStats.Validate rejects the same defects.
func TestObsNormValidateRejects(t *testing.T) {
	good := func() *ObsNorm {
		return &ObsNorm{Mean: []float64{0.5, -1}, Var: []float64{2, 0.5}, Count: 10, Clip: 10, Epsilon: 1e-8}
	}
	tests := []struct {
		name string
		edit func(n *ObsNorm)
		want string
	}{
		{"NaN mean", func(n *ObsNorm) { n.Mean[1] = math.NaN() }, "element 1"},
		{"infinite mean", func(n *ObsNorm) { n.Mean[0] = math.Inf(-1) }, "element 0"},
		{"negative variance", func(n *ObsNorm) { n.Var[0] = -0.1 }, "element 0"},
		{"NaN variance", func(n *ObsNorm) { n.Var[1] = math.NaN() }, "element 1"},
		{"infinite variance", func(n *ObsNorm) { n.Var[1] = math.Inf(1) }, "element 1"},
		{"fewer variances", func(n *ObsNorm) { n.Var = n.Var[:1] }, "2 means and 1 variances"},
		{"fewer means", func(n *ObsNorm) { n.Mean = n.Mean[:1] }, "1 means and 2 variances"},
		{"zero clip", func(n *ObsNorm) { n.Clip = 0 }, "clip"},
		{"NaN clip", func(n *ObsNorm) { n.Clip = math.NaN() }, "clip"},
		{"negative epsilon", func(n *ObsNorm) { n.Epsilon = -1e-8 }, "epsilon"},
		{"negative count", func(n *ObsNorm) { n.Count = -1 }, "count"},
		{"NaN count", func(n *ObsNorm) { n.Count = math.NaN() }, "count"},
	}
	if err := good().Validate(2); err != nil {
		t.Fatalf("good statistics: %v", err)
	}
	if err := good().Validate(3); err == nil || !strings.Contains(err.Error(), "want 3") {
		t.Errorf("Validate(3) of 2-element statistics = %v; want a size error", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := good()
			tt.edit(n)
			if err := n.Validate(2); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ObsNorm.Validate = %v; want an error containing %q", err, tt.want)
			}
			w := obsNormWeights()
			w.ObsNorm = n
			if err := w.Validate(); err == nil {
				t.Error("Weights.Validate accepted it")
			}
			b, err := w.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalWeights(b); err == nil {
				t.Error("UnmarshalWeights accepted it")
			}
		})
	}
}

// TestObsStatsValidateRejects proves that ObsStats.Validate rejects a
// size mismatch, a non-finite or negative count, and non-finite means or
// negative, NaN or infinite variances.
func TestObsStatsValidateRejects(t *testing.T) {
	good := func() *ObsStats { return &ObsStats{Mean: []float64{1, 2}, Var: []float64{0, 3}, Count: 4} }
	tests := []struct {
		name string
		dim  int
		edit func(s *ObsStats)
	}{
		{"wrong size", 3, func(*ObsStats) {}},
		{"short variances", 2, func(s *ObsStats) { s.Var = s.Var[:1] }},
		{"negative count", 2, func(s *ObsStats) { s.Count = -1 }},
		{"infinite count", 2, func(s *ObsStats) { s.Count = math.Inf(1) }},
		{"NaN count", 2, func(s *ObsStats) { s.Count = math.NaN() }},
		{"NaN mean", 2, func(s *ObsStats) { s.Mean[0] = math.NaN() }},
		{"infinite mean", 2, func(s *ObsStats) { s.Mean[1] = math.Inf(1) }},
		{"negative variance", 2, func(s *ObsStats) { s.Var[0] = -1 }},
		{"infinite variance", 2, func(s *ObsStats) { s.Var[1] = math.Inf(1) }},
	}
	if err := good().Validate(2); err != nil {
		t.Fatalf("good statistics: %v", err)
	}
	if err := NewObsStats(2).Validate(2); err != nil {
		t.Errorf("empty statistics: %v", err)
	}
	for _, tt := range tests {
		s := good()
		tt.edit(s)
		if err := s.Validate(tt.dim); err == nil {
			t.Errorf("%s: Validate accepted %+v", tt.name, s)
		}
	}
}

// TestObsNormValidateRejectsInfiniteCount proves that statistics with an
// infinite count are rejected, as ObsStats.Validate rejects them: merging
// anything into them gives a NaN variance, which every worker would then
// normalise with.
func TestObsNormValidateRejectsInfiniteCount(t *testing.T) {
	n := &ObsNorm{Mean: []float64{0}, Var: []float64{1}, Count: math.Inf(1), Clip: 10, Epsilon: 1e-8}
	if err := n.Validate(1); err == nil {
		t.Error("ObsNorm.Validate accepted Count = +Inf")
	}
	w := obsNormWeights()
	w.ObsNorm = &ObsNorm{Mean: []float64{0, 0}, Var: []float64{1, 1}, Count: math.Inf(1), Clip: 10, Epsilon: 1e-8}
	b, err := w.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalWeights(b); err == nil {
		t.Error("UnmarshalWeights accepted statistics with Count = +Inf")
	}
}
