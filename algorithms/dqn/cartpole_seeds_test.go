package dqn_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLongCartPoleDQNSeeds measures the shipped configs/cartpole-dqn.yaml
// on the seeds in RLGO_DQN_SEEDS ("lo-hi", default 1-10; long suite,
// RLGO_LONG=1), one run at a time: the env steps and the wall and CPU
// seconds until the training mean of the last 100 episodes reaches 475.
// It fails if a seed does not solve within the config's budget (its stop
// section's env_steps, 150k), and logs the smallest margin to it.
// RLGO_DQN_CONFIG names
// another config to measure the same way (a name under configs/, or a
// path relative to it: how the shipped one was tuned).
//
//	RLGO_LONG=1 go test ./algorithms/dqn -run TestLongCartPoleDQNSeeds -v -timeout 0
func TestLongCartPoleDQNSeeds(t *testing.T) {
	if os.Getenv("RLGO_LONG") == "" {
		t.Skip("long suite: set RLGO_LONG=1")
	}
	lo, hi := uint64(1), uint64(10)
	if v := os.Getenv("RLGO_DQN_SEEDS"); v != "" {
		a, b, _ := strings.Cut(v+"-"+v, "-")
		var err1, err2 error
		lo, err1 = strconv.ParseUint(a, 10, 64)
		hi, err2 = strconv.ParseUint(strings.Split(b, "-")[0], 10, 64)
		if err1 != nil || err2 != nil || hi < lo {
			t.Fatalf("RLGO_DQN_SEEDS=%q: want seed or lo-hi", v)
		}
	}
	name := "cartpole-dqn"
	if v := os.Getenv("RLGO_DQN_CONFIG"); v != "" {
		name = v
	}
	minMargin := int64(-1)
	for seed := lo; seed <= hi; seed++ {
		load := loadavg()
		start, cpu0 := time.Now(), cpuTime()
		r, ok := solve(t, name, seed)
		wall, cpu := time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
		t.Logf("seed %d: solved %v, episode_return_mean %.1f at %d env steps, %.2f s in the run, %.2f s wall with setup, %.2f s CPU, load %s", seed, ok, r.EpisodeReturnMean, r.EnvSteps, r.TimeS, wall, cpu, load)
		if !ok {
			t.Errorf("seed %d: episode_return_mean %.1f at %d env steps; want >= 475 within the budget", seed, r.EpisodeReturnMean, r.EnvSteps)
			continue
		}
		if m := 150000 - r.EnvSteps; minMargin < 0 || m < minMargin {
			minMargin = m
		}
	}
	t.Logf("smallest margin to the 150k budget: %d env steps", minMargin)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is /proc/loadavg's 1-minute load average.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
