package tune

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SchedulerPBT is population-based training (tune.scheduler.type pbt).
const SchedulerPBT = "pbt"

// MutationList is the kind of a hyperparameter mutation given as an
// explicit list of values (Ray Tune's list): explore moves to a
// neighbouring value, resampling picks any.
const MutationList = "list"

// Rand is the randomness PBT draws from: *math/rand/v2.Rand has it;
// tests inject scripted draws.
type Rand interface {
	// Float64 returns a float in [0, 1).
	Float64() float64
	// IntN returns an int in [0, n).
	IntN(n int) int
}

// PBTState is one trial's population-based-training bookkeeping, kept
// in experiment.json so that --resume goes on where it stopped.
type PBTState struct {
	// Budget is the trial's own stop.env_steps: its last segment ends
	// there; the others end at perturbation boundaries.
	Budget int64 `json:"budget_env_steps"`
	// LastScore is the metric at its last perturbation (nil: none yet).
	LastScore *float64 `json:"last_score"`
	// LastPerturbation is its env steps at its last perturbation (after an
	// exploit: the donor's): its segment ends at LastPerturbation +
	// perturbation_interval.
	LastPerturbation int64 `json:"last_perturbation_env_steps"`
	// LastTrain is its env steps at its last boundary; waiting trials
	// start lowest first, so the population advances evenly (Ray Tune's
	// choose_trial_to_run).
	LastTrain int64 `json:"last_train_env_steps"`
	// Snapshot is a copy of its checkpoint at LastPerturbation, taken when
	// it was in the upper quantile there ("" otherwise: it cannot be
	// copied), relative to the experiment directory.
	Snapshot string `json:"snapshot,omitempty"`
	// SnapshotIteration and SnapshotEnvSteps are where Snapshot was taken.
	SnapshotIteration int   `json:"snapshot_iteration,omitempty"`
	SnapshotEnvSteps  int64 `json:"snapshot_env_steps,omitempty"`
	// Values are its present values of the mutated keys (--set values).
	Values []Param `json:"values"`
	// Pending is an exploit decided but whose files (the donor's
	// checkpoint and config) are not in its run directory yet.
	Pending *Exploit `json:"pending,omitempty"`
	// Lineage lists its exploits in order.
	Lineage []Exploit `json:"lineage,omitempty"`
}

// Exploit records one exploit-and-explore step of a trial: it copied
// Donor's checkpoint and config and perturbed the mutated keys.
type Exploit struct {
	// At is when it was decided.
	At time.Time `json:"at"`
	// Iteration, EnvSteps and Score are the trial's at the boundary where
	// it was found in the lower quantile.
	Iteration int      `json:"iteration"`
	EnvSteps  int64    `json:"env_steps"`
	Score     *float64 `json:"score"`
	// Donor is the trial copied (upper quantile); DonorIteration,
	// DonorEnvSteps and DonorScore are its checkpoint's.
	Donor          string   `json:"donor"`
	DonorIteration int      `json:"donor_iteration"`
	DonorEnvSteps  int64    `json:"donor_env_steps"`
	DonorScore     *float64 `json:"donor_score"`
	// Snapshot is the donor's checkpoint copied (relative to the
	// experiment directory; removed once no trial needs it).
	Snapshot string `json:"snapshot"`
	// Changes are the mutated keys: the donor's value, the new one and
	// how it was found.
	Changes []Change `json:"changes"`
}

// Change is one mutated key in an exploit.
type Change struct {
	Key  string `json:"key"`
	From string `json:"from"`
	To   string `json:"to"`
	// Op is "resample", "* 1.2", "* 0.8", "shift left", "shift right"
	// (with " (noop)" at a list's end) or "clamped" to the space.
	Op string `json:"op"`
}

// PBT is population-based training (Jaderberg et al. 2017, "Population
// Based Training of Neural Networks"), asynchronous as Ray Tune's
// PopulationBasedTraining: when a trial reaches its next perturbation
// boundary (perturbation_interval env steps after its last), its score
// is recorded; among the unended trials with a score, one in the top
// quantile_fraction keeps a copy of its checkpoint, and one in the
// bottom copies the checkpoint and config of a random top trial
// (exploit) and perturbs the mutated keys (explore).
type PBT struct {
	cfg  SchedulerConfig
	sign float64
	rng  Rand
}

// NewPBT returns PBT with cfg's settings; mode is max or min.
func NewPBT(cfg SchedulerConfig, mode string, rng Rand) *PBT {
	sign := 1.0
	if mode == "min" {
		sign = -1
	}
	return &PBT{cfg: cfg, sign: sign, rng: rng}
}

// PBTDecision is what the scheduler decided at a trial's boundary.
type PBTDecision struct {
	// Scored reports that the metric had a value (else nothing else was
	// decided: the trial goes on).
	Scored bool
	// Lower and Upper are the population's quantiles (trial indices),
	// worst first.
	Lower, Upper []int
	// Snapshot: the trial is in the upper quantile; keep a copy of its
	// checkpoint at this boundary (else drop any copy it had).
	Snapshot bool
	// Donor is the index of the trial to copy, -1 for none (not in the
	// lower quantile, or the donor drawn has no checkpoint copy).
	Donor int
	// Values are the trial's new values of the mutated keys (the donor's,
	// perturbed) and Changes how each was found, when Donor >= 0.
	Values  []Param
	Changes []Change
}

// OnBoundary records that pop[i] reached a boundary at envSteps with
// metric (NaN: no value yet) and decides. It updates pop[i].PBT's score
// and times (and, for an exploit, copies the donor's perturbation and
// train times, as Ray Tune does); the caller does the snapshot and the
// exploit's files, and records the lineage. Trials with a final status
// and trials without a score are left out of the quantiles.
func (p *PBT) OnBoundary(pop []*TrialState, i int, envSteps int64, metric float64) (PBTDecision, error) {
	d := PBTDecision{Donor: -1}
	st := pop[i].PBT
	st.LastPerturbation, st.LastTrain = envSteps, envSteps
	if math.IsNaN(metric) {
		return d, nil
	}
	d.Scored = true
	m := metric
	st.LastScore = &m
	d.Lower, d.Upper = p.quantiles(pop)
	d.Snapshot = contains(d.Upper, i)
	if !contains(d.Lower, i) {
		return d, nil
	}
	donor := d.Upper[p.rng.IntN(len(d.Upper))]
	ds := pop[donor].PBT
	if ds.Snapshot == "" {
		return d, nil // Ray Tune: "no checkpoint for trial, skip exploit"
	}
	vals, changes, err := explore(p.rng, ds.Values, p.cfg.Mutations, p.cfg.ResampleProbability, p.cfg.PerturbationFactors)
	if err != nil {
		return d, err
	}
	d.Donor, d.Values, d.Changes = donor, vals, changes
	st.LastPerturbation, st.LastTrain = ds.LastPerturbation, ds.LastTrain
	return d, nil
}

// quantiles returns the bottom and top quantile_fraction of the unended
// trials with a score, worst first (Ray Tune's _quantiles: at least
// ceil(n·q), at most floor(n/2); none below two trials). Ties keep
// trial order.
func (p *PBT) quantiles(pop []*TrialState) (lower, upper []int) {
	var idx []int
	for j, t := range pop {
		if t.PBT != nil && t.PBT.LastScore != nil && !ended(t.Status) {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return p.sign**pop[idx[a]].PBT.LastScore < p.sign**pop[idx[b]].PBT.LastScore
	})
	if len(idx) <= 1 {
		return nil, nil
	}
	n := int(math.Ceil(float64(len(idx)) * p.cfg.QuantileFraction))
	if float64(n) > float64(len(idx))/2 {
		n = len(idx) / 2
	}
	return idx[:n], idx[len(idx)-n:]
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// explore perturbs the donor's values of the mutated keys (Ray Tune's
// _explore): a list mutation resamples a value with probability
// resample (or when the value is not in the list), else moves to the
// left or right neighbour (staying put at an end); a search space
// resamples with probability resample, else multiplies the value by a
// factor drawn from factors (an integer stays an integer, truncated).
// Unlike Ray Tune, a perturbed value is clamped to a uniform,
// loguniform or randint space's bounds, so it stays a valid config.
func explore(rng Rand, values []Param, mutations []Space, resample float64, factors []float64) ([]Param, []Change, error) {
	cur := map[string]string{}
	for _, v := range values {
		cur[v.Key] = v.Value
	}
	var out []Param
	var changes []Change
	for _, m := range mutations {
		from := cur[m.Key]
		var to, op string
		switch m.Kind {
		case MutationList:
			at := indexOf(m.Values, from)
			if rng.Float64() < resample || at < 0 {
				to, op = m.Values[rng.IntN(len(m.Values))], "resample"
				break
			}
			shift := []int{-1, 1}[rng.IntN(2)]
			j := min(max(at+shift, 0), len(m.Values)-1)
			to, op = m.Values[j], "shift right"
			if shift < 0 {
				op = "shift left"
			}
			if j == at {
				op += " (noop)"
			}
		default:
			if rng.Float64() < resample {
				to, op = sample(rng, m), "resample"
				break
			}
			f := factors[rng.IntN(len(factors))]
			op = "* " + strconv.FormatFloat(f, 'g', -1, 64)
			if n, err := strconv.ParseInt(from, 10, 64); err == nil {
				v := int64(float64(n) * f) // Python's int(): towards zero
				if m.Kind != Choice {
					lo, hi := int64(math.Ceil(m.Lo)), int64(math.Floor(m.Hi))
					if m.Kind == RandInt {
						hi = int64(m.Hi) - 1 // hi is excluded
					}
					if v < lo || v > hi {
						v, op = min(max(v, lo), hi), op+" (clamped)"
					}
				}
				to = strconv.FormatInt(v, 10)
				break
			}
			x, err := strconv.ParseFloat(from, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("tune: pbt: %s = %q is not a number to perturb; give its mutation as a list of values", m.Key, from)
			}
			v := x * f
			if m.Kind == Uniform || m.Kind == LogUniform {
				if v < m.Lo || v > m.Hi {
					v, op = math.Min(math.Max(v, m.Lo), m.Hi), op+" (clamped)"
				}
			}
			to = formatFloat(v)
		}
		out = append(out, Param{Key: m.Key, Value: to})
		changes = append(changes, Change{Key: m.Key, From: from, To: to, Op: op})
	}
	return out, changes, nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v || sameNumber(x, v) {
			return i
		}
	}
	return -1
}

// sameNumber reports whether a and b are the same number written
// differently (1e-3 and 0.001).
func sameNumber(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}

// sample draws a value from a search space, as Expand does.
func sample(rng Rand, sp Space) string {
	switch sp.Kind {
	case Choice, MutationList:
		return sp.Values[rng.IntN(len(sp.Values))]
	case Uniform:
		return formatFloat(sp.Lo + (sp.Hi-sp.Lo)*rng.Float64())
	case LogUniform:
		lo, hi := math.Log(sp.Lo), math.Log(sp.Hi)
		return formatFloat(math.Exp(lo + (hi-lo)*rng.Float64()))
	case RandInt:
		return strconv.FormatInt(int64(sp.Lo)+int64(rng.IntN(int(sp.Hi-sp.Lo))), 10)
	}
	return ""
}

// lookupKey returns the value of the dotted key in a config's YAML as a
// --set value (one line of flow YAML).
func lookupKey(data []byte, key string) (string, bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return "", false
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range strings.Split(key, ".") {
		if n.Kind != yaml.MappingNode {
			return "", false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return "", false
		}
		n = next
	}
	v, err := flowYAML(n)
	return v, err == nil
}
