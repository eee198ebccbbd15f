package report

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/rlgo/rlgo/envs"
)

// Group is the runs of one config that differ only in seed.
type Group struct {
	// Label names the group in legends and tables: the config's name, and
	// where two groups share a name, the keys that tell them apart.
	Label string
	// Runs are the group's runs, by seed.
	Runs []*Run
	// Threshold is the return the curves are judged against: the env's
	// reward threshold (envs.Spec.RewardThreshold), else the config's
	// stop.episode_return_mean; HasThreshold is false when neither exists.
	Threshold    float64
	HasThreshold bool
	// ThresholdFrom says where Threshold came from.
	ThresholdFrom string
	// Repeated lists the seeds that more than one run of the group has:
	// those runs count as one seed in the band (their mean).
	Repeated []string
}

// Seeds returns the group's distinct seeds, in run order.
func (g *Group) Seeds() []string {
	var seeds []string
	for _, r := range g.Runs {
		if !slices.Contains(seeds, r.Seed) {
			seeds = append(seeds, r.Seed)
		}
	}
	return seeds
}

// GroupRuns groups runs by config (all keys but seed), in the order each
// group's first run appears.
func GroupRuns(runs []*Run) []*Group {
	var groups []*Group
	byKey := map[string]*Group{}
	for _, r := range runs {
		g := byKey[r.GroupKey]
		if g == nil {
			g = &Group{Label: r.Name}
			byKey[r.GroupKey] = g
			groups = append(groups, g)
		}
		g.Runs = append(g.Runs, r)
	}
	for _, g := range groups {
		sort.SliceStable(g.Runs, func(i, j int) bool { return lessSeed(g.Runs[i].Seed, g.Runs[j].Seed) })
		for i, r := range g.Runs {
			if i > 0 && r.Seed == g.Runs[i-1].Seed && !slices.Contains(g.Repeated, r.Seed) {
				g.Repeated = append(g.Repeated, r.Seed)
			}
		}
		r := g.Runs[0]
		if spec, err := envs.Lookup(r.EnvID); err == nil && spec.HasThreshold {
			g.Threshold, g.HasThreshold, g.ThresholdFrom = spec.RewardThreshold, true, r.EnvID+" reward threshold"
		} else if r.Target != nil {
			g.Threshold, g.HasThreshold, g.ThresholdFrom = *r.Target, true, "stop.episode_return_mean"
		}
	}
	labelGroups(groups)
	return groups
}

func lessSeed(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b) // numeric seeds: shorter is smaller
	}
	return a < b
}

// labelGroups adds the distinguishing config keys to groups that share
// a name: "cartpole-ppo (ppo.lr=0.001)".
func labelGroups(groups []*Group) {
	byName := map[string][]*Group{}
	for _, g := range groups {
		byName[g.Label] = append(byName[g.Label], g)
	}
	for _, same := range byName {
		if len(same) < 2 {
			continue
		}
		var differ []string
		for _, h := range same[0].Runs[0].Config {
			if h.Name == "seed" {
				continue
			}
			for _, g := range same[1:] {
				v, ok := g.Runs[0].ConfigValue(h.Name)
				if !ok || fmt.Sprint(v) != fmt.Sprint(h.Value) {
					differ = append(differ, h.Name)
					break
				}
			}
		}
		for i, g := range same {
			var parts []string
			for _, k := range differ {
				if v, ok := g.Runs[0].ConfigValue(k); ok {
					parts = append(parts, k+"="+fmt.Sprint(v))
				}
			}
			if len(parts) == 0 { // differ only in keys the first lacks
				parts = []string{fmt.Sprintf("#%d", i+1)}
			}
			if len(parts) > 3 {
				parts = append(parts[:3], "…")
			}
			g.Label += " (" + strings.Join(parts, ", ") + ")"
		}
	}
}

// Band is a group's curve on a common grid: the mean and sample standard
// deviation over the group's seeds of y interpolated linearly at each X.
// Runs of one seed (a seed run twice) count once, as their mean, so a
// repeated seed does not narrow the band. The grid starts where every
// run has data. For a return (episode_return_mean,
// evaluation_return_mean) it ends where the last run ends, provided
// every run that ended earlier is finished (result.json status finished:
// it stopped at its target or budget), whose last return is carried
// forward — the return it stopped with. A run that has not finished
// (running, interrupted, failed), and any run for other metrics (a loss
// has no value after its run), ends the grid where its data ends, so the
// band never averages over a varying set of runs. Each run's full curve
// is drawn separately.
type Band struct {
	X, Mean, Std []float64
	// N is the number of seeds averaged.
	N int
	// Carried is the number of finished seeds whose last value is carried
	// forward over part of the grid.
	Carried int
}

// carries are the metrics whose last value a finished run carries
// forward in a band: the returns it stopped with.
var carries = map[string]bool{"episode_return_mean": true, "evaluation_return_mean": true}

// bandPoints is the number of grid points of a band.
const bandPoints = 200

// GroupBand returns the band of y against x over the group's runs that
// have y; ok is false when no run does or their x ranges do not
// overlap.
func GroupBand(g *Group, x, y string) (b Band, ok bool) {
	type series struct {
		xs, ys   []float64
		finished bool
	}
	bySeed := map[string][]series{}
	var seeds []string
	lo, hi, maxEnd := math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, r := range g.Runs {
		xs, ys := r.Series(x, y)
		if len(xs) == 0 {
			continue
		}
		s := series{xs, ys, carries[y] && r.Result != nil && r.Result.Status == "finished"}
		if _, ok := bySeed[r.Seed]; !ok {
			seeds = append(seeds, r.Seed)
		}
		bySeed[r.Seed] = append(bySeed[r.Seed], s)
		end := xs[len(xs)-1]
		lo, maxEnd = math.Max(lo, xs[0]), math.Max(maxEnd, end)
		if !s.finished {
			hi = math.Min(hi, end)
		}
	}
	if len(seeds) == 0 {
		return Band{}, false
	}
	hi = math.Min(hi, maxEnd)
	if lo > hi {
		return Band{}, false
	}
	n := bandPoints
	if lo == hi {
		n = 1
	}
	b = Band{X: make([]float64, n), Mean: make([]float64, n), Std: make([]float64, n), N: len(seeds)}
	for _, seed := range seeds {
		for _, s := range bySeed[seed] {
			if s.xs[len(s.xs)-1] < hi {
				b.Carried++
				break
			}
		}
	}
	vals := make([]float64, len(seeds))
	for i := range n {
		xi := lo
		if n > 1 {
			xi = lo + (hi-lo)*float64(i)/float64(n-1)
		}
		for k, seed := range seeds {
			runs := bySeed[seed]
			sum := 0.0
			for _, s := range runs {
				sum += interp(s.xs, s.ys, xi) // past a finished run's end: its last value
			}
			vals[k] = sum / float64(len(runs))
		}
		b.X[i] = xi
		b.Mean[i], b.Std[i] = meanStd(vals)
	}
	return b, true
}

// interp is the piecewise-linear interpolation of (xs, ys) at x, for xs
// non-decreasing and x within [xs[0], xs[len-1]].
func interp(xs, ys []float64, x float64) float64 {
	j := sort.SearchFloat64s(xs, x) // first xs[j] >= x
	switch {
	case j == 0:
		return ys[0]
	case j >= len(xs):
		return ys[len(ys)-1]
	case xs[j] == xs[j-1]:
		return ys[j]
	}
	t := (x - xs[j-1]) / (xs[j] - xs[j-1])
	return ys[j-1] + t*(ys[j]-ys[j-1])
}

// meanStd returns the mean and the sample standard deviation (n-1
// denominator; 0 for one value).
func meanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}

// RunStats are one run's headline numbers.
type RunStats struct {
	// Final and Best are the last and the largest episode_return_mean
	// (NaN before the first episode).
	Final, Best float64
	// EnvSteps and TimeS are the last row's.
	EnvSteps, TimeS float64
	// Iterations is the number of rows.
	Iterations int
	// StepsToThreshold and TimeToThreshold are where episode_return_mean
	// first reached the group's threshold (NaN if never).
	StepsToThreshold, TimeToThreshold float64
	// Status is result.json's status, or "running?" without one.
	Status string
}

// Stats computes r's headline numbers against threshold.
func Stats(r *Run, threshold float64, hasThreshold bool) RunStats {
	s := RunStats{Final: math.NaN(), Best: math.NaN(), EnvSteps: math.NaN(), TimeS: math.NaN(),
		StepsToThreshold: math.NaN(), TimeToThreshold: math.NaN(), Iterations: len(r.Rows), Status: "running?"}
	if r.Result != nil {
		s.Status = r.Result.Status
	}
	if n := len(r.Rows); n > 0 {
		last := r.Rows[n-1]
		if i, ok := r.col["env_steps"]; ok {
			s.EnvSteps = last[i]
		}
		if i, ok := r.col["time_s"]; ok {
			s.TimeS = last[i]
		}
	}
	ri, ok := r.col["episode_return_mean"]
	if !ok {
		return s
	}
	si, hasSteps := r.col["env_steps"]
	ti, hasTime := r.col["time_s"]
	reached := false
	for _, row := range r.Rows {
		v := row[ri]
		if math.IsNaN(v) {
			continue
		}
		s.Final = v
		if math.IsNaN(s.Best) || v > s.Best {
			s.Best = v
		}
		if hasThreshold && v >= threshold && !reached {
			reached = true
			if hasSteps {
				s.StepsToThreshold = row[si]
			}
			if hasTime {
				s.TimeToThreshold = row[ti]
			}
		}
	}
	return s
}
