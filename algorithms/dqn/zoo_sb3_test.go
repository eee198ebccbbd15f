package dqn

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
)

// zooVariants are the differences from SB3 ablated in docs/dqn.md. Each
// starts from the rlgo run, zooVanillaConfig with rlgo's
// orthogonal init (the "baseline"), and changes one thing.
var zooVariants = map[string]func(*Config, *algorithms.Setup){
	// baseline: rlgo's defaults (orthogonal init, 50-step fragments).
	"baseline": func(*Config, *algorithms.Setup) {},
	// torch_init: SB3's QNetwork initialisation (torch.nn.Linear's);
	// zooVanillaConfig as it is.
	"torch_init": func(_ *Config, s *algorithms.Setup) { s.Model.Init = policy.InitTorchDefault },
	// frag1: act with the current weights and ε at every env step, as
	// SB3's collect_rollouts does (fragments of one step).
	"frag1": func(_ *Config, s *algorithms.Setup) { s.Rollout.FragmentLength = 1 },
	// frag256: fragments of train_freq steps: the weights that act on a
	// fragment are those after the previous training round (as SB3's),
	// but ε changes only every 256 steps.
	"frag256": func(_ *Config, s *algorithms.Setup) { s.Rollout.FragmentLength = 256 },
	// torch_init+frag1: both of SB3's, together.
	"torch_init+frag1": func(_ *Config, s *algorithms.Setup) {
		s.Model.Init = policy.InitTorchDefault
		s.Rollout.FragmentLength = 1
	},
	// adam_eps_1e-5: rlgo's PPO default Adam ε instead of torch's 1e-8.
	"adam_eps_1e-5": func(c *Config, _ *algorithms.Setup) { c.AdamEps = 1e-5 },
	// no_clip: no gradient clipping (SB3 clips at 10).
	"no_clip": func(c *Config, _ *algorithms.Setup) { c.MaxGradNorm = 0 },
}

// runZoo trains 50,000 env steps at the zoo's settings with a variant and
// returns the training mean of the last 100 episodes at the end.
func runZoo(t *testing.T, variant string, seed uint64) float64 {
	t.Helper()
	cfg, setup := zooVanillaConfig(seed)
	apply, ok := zooVariants[variant]
	if !ok {
		t.Fatalf("unknown variant %q", variant)
	}
	setup.Model.Init = policy.InitOrthogonal // the baseline every variant starts from
	apply(&cfg, &setup)
	return finalReturn(t, cfg, setup)
}

// finalReturn trains 50,000 env steps and returns the training mean of
// the last 100 episodes at the end.
func finalReturn(t *testing.T, cfg Config, setup algorithms.Setup) float64 {
	t.Helper()
	d, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var r algorithms.Result
	for r.EnvSteps < 50000 {
		if r, err = d.Train(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return r.EpisodeReturnMean
}

// meanStd returns the mean and the sample standard deviation of x.
func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	if len(x) > 1 {
		std = math.Sqrt(std / float64(len(x)-1))
	}
	return mean, std
}

// seedRange parses "a-b" (or one seed) from an env variable, default def.
func seedRange(t *testing.T, key string, def [2]uint64) []uint64 {
	lo, hi := def[0], def[1]
	if v := os.Getenv(key); v != "" {
		a, b, found := strings.Cut(v, "-")
		var err1, err2 error
		lo, err1 = strconv.ParseUint(a, 10, 64)
		hi, err2 = lo, nil
		if found {
			hi, err2 = strconv.ParseUint(b, 10, 64)
		}
		if err1 != nil || err2 != nil || hi < lo {
			t.Fatalf("%s=%q: want seed or lo-hi", key, v)
		}
	}
	var seeds []uint64
	for s := lo; s <= hi; s++ {
		seeds = append(seeds, s)
	}
	return seeds
}

// TestLongZooAblation runs the ablation of docs/dqn.md: each variant in
// RLGO_ZOO_VARIANTS (comma-separated, or "all") on the seeds in
// RLGO_ZOO_SEEDS (default 1-5), one run at a time, logging every seed's
// final training mean and the variant's mean ± standard deviation. It
// asserts nothing: it measures, for half an hour with all variants, so it
// runs only when RLGO_ZOO_VARIANTS asks for it (not in .ci/run).
//
//	RLGO_LONG=1 RLGO_ZOO_VARIANTS=baseline,torch_init go test ./algorithms/dqn -run TestLongZooAblation -v -timeout 0
func TestLongZooAblation(t *testing.T) {
	v := os.Getenv("RLGO_ZOO_VARIANTS")
	if os.Getenv("RLGO_LONG") == "" || v == "" {
		t.Skip("a measurement, not a check: set RLGO_LONG=1 and RLGO_ZOO_VARIANTS (e.g. all, or baseline,torch_init)")
	}
	names := []string{"baseline", "torch_init", "frag1", "frag256", "adam_eps_1e-5", "no_clip"}
	if v != "all" {
		names = strings.Split(v, ",")
	}
	seeds := seedRange(t, "RLGO_ZOO_SEEDS", [2]uint64{1, 5})
	for _, name := range names {
		var finals []float64
		var line strings.Builder
		for _, seed := range seeds {
			start, cpu0 := time.Now(), cpuTime()
			f := runZoo(t, name, seed)
			finals = append(finals, f)
			t.Logf("%s seed %d: final %.1f (%.1f s wall, %.1f s CPU, load %s)", name, seed, f, time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds(), loadavg())
			fmt.Fprintf(&line, " %.1f", f)
		}
		m, s := meanStd(finals)
		t.Logf("ABLATION %s: mean %.1f ± %.1f over seeds %v:%s", name, m, s, seeds, line.String())
	}
}

// sb3ZooFinal is Stable-Baselines3 2.3.2's training mean of the last 100
// episodes after 50,000 steps at the zoo's CartPole-v1 DQN settings
// (issue 17: 267.5 and 268.4 on seeds 1 and 2; ≈ 268 on seeds 1–3 in
// facts.md).
const sb3ZooFinal = 268

// zooMargin is how far below sb3ZooFinal rlgo's 5-seed mean may fall:
// the two-sided 95% band of a 5-seed mean, t(0.975, 4 dof) · s/√5 =
// 2.776 · 46.9/√5 = 58, with s = 46.9 the seed-to-seed standard
// deviation of rlgo's final return at these settings (seeds 1–5: 158.0,
// 190.3, 269.8, 256.5, 237.3; docs/dqn.md). A mean below 268 − 58 = 210
// is a shortfall seed noise does not explain.
const zooMargin = 58

// TestLongZooMatchesSB3 is issue 17's check (long suite, RLGO_LONG=1):
// at the zoo's settings exactly as SB3 runs them (zooVanillaConfig), the
// mean over seeds 1–5 of the final training return must be at least
// sb3ZooFinal − zooMargin.
//
//	RLGO_LONG=1 go test ./algorithms/dqn -run TestLongZooMatchesSB3 -v -timeout 0
func TestLongZooMatchesSB3(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	var finals []float64
	for seed := uint64(1); seed <= 5; seed++ {
		cfg, setup := zooVanillaConfig(seed)
		f := finalReturn(t, cfg, setup)
		t.Logf("seed %d: final training mean %.1f (load %s)", seed, f, loadavg())
		finals = append(finals, f)
	}
	m, s := meanStd(finals)
	t.Logf("mean %.1f ± %.1f over seeds 1-5: %v (SB3: %d)", m, s, finals, sb3ZooFinal)
	if m < sb3ZooFinal-zooMargin {
		t.Errorf("mean final training return %.1f over seeds 1-5; want >= %d (SB3's %d minus %d)", m, sb3ZooFinal-zooMargin, sb3ZooFinal, zooMargin)
	}
}
