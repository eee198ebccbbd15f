package dqn

import (
	"math"
	"testing"
)

// TestReplayWrapAround fills a ring buffer of 3 slots with 5 transitions:
// the two oldest are overwritten in order, the rest are kept.
func TestReplayWrapAround(t *testing.T) {
	r := NewReplay(3, 2)
	for k := 0; k < 5; k++ {
		f := float32(k)
		slot := r.Add([]float32{f, -f}, int32(k), 10*f, []float32{f + 0.5, -f - 0.5}, 0.1*f)
		if want := k % 3; slot != want {
			t.Errorf("Add #%d wrote slot %d; want %d", k, slot, want)
		}
		if want := min(k+1, 3); r.Len() != want {
			t.Errorf("after %d adds Len() = %d; want %d", k+1, r.Len(), want)
		}
	}
	// Slots now hold transitions 3, 4, 2.
	for slot, k := range []int{3, 4, 2} {
		f := float32(k)
		if got := r.Obs(slot); got[0] != f || got[1] != -f {
			t.Errorf("Obs(%d) = %v; want [%v %v]", slot, got, f, -f)
		}
		if got := r.NextObs(slot); got[0] != f+0.5 {
			t.Errorf("NextObs(%d) = %v; want [%v ...]", slot, got, f+0.5)
		}
		if r.Action(slot) != int32(k) || r.Return(slot) != 10*f || r.Bootstrap(slot) != 0.1*f {
			t.Errorf("slot %d = (%d, %v, %v); want transition %d", slot, r.Action(slot), r.Return(slot), r.Bootstrap(slot), k)
		}
	}
}

// TestReplayAddAllocatesNothing checks the ring buffer is preallocated.
func TestReplayAddAllocatesNothing(t *testing.T) {
	r := NewReplay(100, 4)
	obs := []float32{1, 2, 3, 4}
	if n := testing.AllocsPerRun(1000, func() { r.Add(obs, 1, 1, obs, 0.99) }); n != 0 {
		t.Errorf("Add allocates %v times per call; want 0", n)
	}
}

// TestSumTree checks sums, minimum and prefix-sum search on hand values.
func TestSumTree(t *testing.T) {
	tr := NewSumTree(5) // 8 leaves
	for i, p := range []float64{1, 2, 3, 4, 0.5} {
		tr.Set(i, p)
	}
	if tr.Total() != 10.5 || tr.Min() != 0.5 {
		t.Fatalf("Total, Min = %v, %v; want 10.5, 0.5", tr.Total(), tr.Min())
	}
	tr.Set(4, 5) // overwrite
	if tr.Total() != 15 || tr.Min() != 1 {
		t.Fatalf("after Set(4, 5): Total, Min = %v, %v; want 15, 1", tr.Total(), tr.Min())
	}
	// Leaf intervals: [0,1) [1,3) [3,6) [6,10) [10,15).
	for _, c := range []struct {
		u    float64
		want int
	}{{0, 0}, {0.999, 0}, {1, 1}, {2.9, 1}, {3, 2}, {5.99, 2}, {6, 3}, {9.99, 3}, {10, 4}, {14.999, 4}} {
		if got := tr.Find(c.u); got != c.want {
			t.Errorf("Find(%v) = %d; want %d", c.u, got, c.want)
		}
	}
}

// TestSumTreeProportions samples leaves through Find and checks each is
// drawn in proportion to its priority.
func TestSumTreeProportions(t *testing.T) {
	p := []float64{1, 0, 4, 2, 3, 0.5, 0.25, 0.25}
	tr := NewSumTree(len(p))
	for i, v := range p {
		tr.Set(i, v)
	}
	rng := testRand()
	counts := make([]int, len(p))
	const n = 200000
	for k := 0; k < n; k++ {
		counts[tr.Find(rng.Float64()*tr.Total())]++
	}
	for i, c := range counts {
		want := p[i] / 11
		if got := float64(c) / n; math.Abs(got-want) > 0.005 {
			t.Errorf("leaf %d drawn %.4f of the time; want %.4f", i, got, want)
		}
	}
}

// TestPrioritized checks Schaul et al. (2016): new transitions get the
// maximum priority, P(i) ∝ (|δ_i| + ε)^α, w_i = (N·P(i))^−β / max_j w_j.
func TestPrioritized(t *testing.T) {
	const alpha, beta, eps = 0.5, 0.4, 1e-6
	per := NewPrioritized(4, alpha, eps)
	for i := 0; i < 4; i++ {
		per.Added(i)
	}
	// Every new slot starts at the initial max priority 1.
	if per.tree.Total() != 4 {
		t.Fatalf("total priority after 4 adds = %v; want 4", per.tree.Total())
	}
	per.Update([]int{0, 1, 2, 3}, []float32{-3, 1, 0, 8})
	td := []float64{3, 1, 0, 8}
	pri := make([]float64, 4)
	var total float64
	for i, d := range td {
		pri[i] = math.Pow(d+eps, alpha)
		total += pri[i]
	}
	for i := range pri {
		if got := per.tree.Get(i); math.Abs(got-pri[i]) > 1e-9 {
			t.Errorf("priority of slot %d = %v; want %v", i, got, pri[i])
		}
	}
	// A new transition gets max |δ| + ε = 8 + ε.
	per.Added(2)
	pri[2] = math.Pow(8+eps, alpha)
	total = pri[0] + pri[1] + pri[2] + pri[3]
	if got := per.tree.Get(2); math.Abs(got-pri[2]) > 1e-9 {
		t.Errorf("new slot's priority = %v; want max %v", got, pri[2])
	}
	// Sampling proportions and importance weights.
	rng := testRand()
	idx, w := make([]int, 8), make([]float32, 8)
	counts := make([]int, 4)
	const rounds = 40000
	minP := math.Min(math.Min(pri[0], pri[1]), math.Min(pri[2], pri[3]))
	for r := 0; r < rounds; r++ {
		per.Sample(rng, 4, beta, idx, w)
		for j, i := range idx {
			counts[i]++
			want := math.Pow(pri[i]/minP, -beta) // (N·P(i))^−β / (N·P_min)^−β
			if math.Abs(float64(w[j])-want) > 1e-5 {
				t.Fatalf("weight of slot %d = %v; want %v", i, w[j], want)
			}
		}
	}
	for i, c := range counts {
		want := pri[i] / total
		if got := float64(c) / (rounds * 8); math.Abs(got-want) > 0.005 {
			t.Errorf("slot %d sampled %.4f of the time; want %.4f", i, got, want)
		}
	}
}
