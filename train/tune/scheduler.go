package tune

import (
	"math"
	"sort"
)

// Scheduler decides, from each result a trial reports, whether it goes
// on. Results of one trial come in iteration order; trials interleave.
type Scheduler interface {
	// OnResult reports trial's metric at iteration (NaN when there is no
	// value yet) and returns stop true to end it early, with the rung
	// (iteration) where that was decided.
	OnResult(trial, iteration int, metric float64) (stop bool, rung int)
}

// NewScheduler returns the scheduler cfg names, or nil for none. mode
// is max or min; maxT is the trials' iteration budget when cfg.MaxT is
// 0 (0: none known, 100 as in Ray Tune).
func NewScheduler(cfg SchedulerConfig, mode string, maxT int) Scheduler {
	sign := 1.0
	if mode == "min" {
		sign = -1
	}
	switch cfg.Type {
	case SchedulerASHA:
		if cfg.MaxT > 0 {
			maxT = cfg.MaxT
		}
		if maxT <= 0 {
			maxT = 100
		}
		return NewASHA(cfg.GracePeriod, cfg.ReductionFactor, maxT, sign)
	case SchedulerMedian:
		return &Median{GracePeriod: cfg.GracePeriod, MinSamples: cfg.MinSamplesRequired, sign: sign, hist: map[int][]point{}}
	}
	return nil
}

// ASHA is asynchronous successive halving (Li et al. 2020, "A System
// for Massively Parallel Hyperparameter Tuning", Algorithm 2) with one
// bracket, as Ray Tune's ASHAScheduler: rungs at grace·η^k iterations
// below maxT; a trial reaching a rung goes on only if its metric is not
// below the (1-1/η) quantile of the metrics recorded at that rung by the
// trials that reached it before (the first to arrive always goes on).
type ASHA struct {
	rungs []rung // largest milestone first, as Ray Tune walks them
	eta   float64
	sign  float64
}

type rung struct {
	milestone int
	recorded  map[int]float64
}

// NewASHA returns ASHA with rungs at grace·eta^k < maxT; sign is +1 to
// maximise the metric, -1 to minimise it.
func NewASHA(grace int, eta float64, maxT int, sign float64) *ASHA {
	a := &ASHA{eta: eta, sign: sign}
	for k := 0; ; k++ {
		m := int(math.Round(float64(grace) * math.Pow(eta, float64(k))))
		if m >= maxT || k > 60 {
			break
		}
		a.rungs = append([]rung{{milestone: m, recorded: map[int]float64{}}}, a.rungs...)
	}
	return a
}

// Milestones returns the rungs' iterations, smallest first.
func (a *ASHA) Milestones() []int {
	out := make([]int, len(a.rungs))
	for i, r := range a.rungs {
		out[len(out)-1-i] = r.milestone
	}
	return out
}

// OnResult implements Scheduler (Ray Tune's _Bracket.on_result): at the
// highest rung the trial has reached and not yet recorded, compare with
// the cutoff and record. A missing value (NaN) counts as the worst.
func (a *ASHA) OnResult(trial, iteration int, metric float64) (bool, int) {
	v := a.sign * metric
	if math.IsNaN(v) {
		v = math.Inf(-1)
	}
	for _, r := range a.rungs {
		if iteration < r.milestone {
			continue
		}
		if _, done := r.recorded[trial]; done {
			continue
		}
		stop := false
		if len(r.recorded) > 0 {
			vals := make([]float64, 0, len(r.recorded))
			for _, x := range r.recorded {
				vals = append(vals, x)
			}
			stop = v < quantile(vals, 1-1/a.eta)
		}
		r.recorded[trial] = v
		return stop, r.milestone
	}
	return false, 0
}

// quantile is numpy's percentile with linear interpolation, q in [0, 1].
func quantile(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi || math.IsInf(s[lo], 0) || math.IsInf(s[hi], 0) {
		if pos-float64(lo) < 0.5 {
			return s[lo]
		}
		return s[hi]
	}
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Median is the median stopping rule (Golovin et al. 2017, "Google
// Vizier", as Ray Tune's MedianStoppingRule): after GracePeriod
// iterations a trial stops if its best metric so far is worse than the
// median of the other trials' running means up to the same iteration,
// once MinSamples other trials have reached it.
type Median struct {
	GracePeriod, MinSamples int
	sign                    float64
	hist                    map[int][]point
}

type point struct {
	it int
	v  float64
}

// OnResult implements Scheduler.
func (m *Median) OnResult(trial, iteration int, metric float64) (bool, int) {
	v := m.sign * metric
	if math.IsNaN(v) {
		v = math.Inf(-1)
	}
	m.hist[trial] = append(m.hist[trial], point{iteration, v})
	if iteration < m.GracePeriod {
		return false, 0
	}
	best := math.Inf(-1)
	for _, p := range m.hist[trial] {
		best = math.Max(best, p.v)
	}
	var means []float64
	for other, h := range m.hist {
		if other == trial || len(h) == 0 || h[len(h)-1].it < iteration {
			continue
		}
		sum, n := 0.0, 0
		for _, p := range h {
			if p.it <= iteration && !math.IsInf(p.v, -1) {
				sum += p.v
				n++
			}
		}
		if n > 0 {
			means = append(means, sum/float64(n))
		}
	}
	if len(means) < m.MinSamples {
		return false, 0
	}
	return best < quantile(means, 0.5), iteration
}
