package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
)

// pendulumConfig is a tiny PPO run on Pendulum-v1 with every kind of
// wrapper the continuous path has: 3 iterations of 2 × 2 × 64 steps,
// a checkpoint and an evaluation every iteration.
const pendulumConfig = `name: pendulum-test
algorithm: ppo
env:
  id: Pendulum-v1
  wrappers:
    - clip_action
    - normalize_observation: {clip: 10}
    - normalize_reward: {gamma: 0.9, clip: 10}
seed: 3
stop: {env_steps: 100000, iterations: 3}
rollout: {workers: 2, envs_per_worker: 2, fragment_length: 64}
model: {hidden: [16], activation: tanh, log_std_init: -0.5}
ppo: {epochs: 2, minibatches: 4, gamma: 0.9}
checkpoint: {every: 1}
evaluation: {interval: 1, episodes: 1}
`

// contGreedyFunc adapts a function to algorithms.ContinuousGreedy.
type contGreedyFunc func(obs []float32, n int, actions []float32)

func (f contGreedyFunc) GreedyContinuous(obs []float32, n int, actions []float32) {
	f(obs, n, actions)
}
func (contGreedyFunc) Greedy([]float32, int, []int) {
	panic("discrete action asked of a continuous policy")
}

// TestPendulumTrainEvaluateExport proves the continuous path end to end
// through the CLI: rltrain train on a Pendulum-v1 config with
// normalize_observation writes checkpoints whose weights carry the merged
// observation statistics; rltrain evaluate runs the greedy policy for
// whole 200-step episodes reproducibly; rltrain export writes a policy
// that policy.Load serves with ActContinuous inside the action bounds,
// whose statistics equal the checkpoint's, and which scores what the
// checkpoint scores.
func TestPendulumTrainEvaluateExport(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	cfgPath := filepath.Join(tmp, "pendulum.yaml")
	if err := os.WriteFile(cfgPath, []byte(pendulumConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "run")
	code, stdout, stderr := run(t, ctx, "train", cfgPath, "--out", dir)
	if code != ExitOK {
		t.Fatalf("train = %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "iter "); n != 3 {
		t.Errorf("train printed %d iteration lines, want 3:\n%s", n, stdout)
	}
	for it := 1; it <= 3; it++ {
		if _, err := os.Stat(filepath.Join(dir, "checkpoints", fmt.Sprintf("iter-%06d", it), "metadata.json")); err != nil {
			t.Errorf("checkpoint of iteration %d: %v", it, err)
		}
	}
	r := readResult(t, dir)
	if r.Status != "finished" || r.Iterations != 3 || r.EnvSteps != 3*256 {
		t.Errorf("result.json = %+v; want finished after 3 iterations and 768 steps", r)
	}

	// The checkpoint's weights carry the statistics of every step so far.
	ck, _, err := loadCheckpoint(ctx, dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ck.File("weights.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	ckW, err := policy.UnmarshalWeights(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ckW.ObsNorm == nil || ckW.ObsNorm.Count != 3*256 || ckW.ObsNorm.Clip != 10 {
		t.Fatalf("checkpoint ObsNorm = %+v; want count 768 and clip 10", ckW.ObsNorm)
	}
	if ls := ckW.Get(policy.LogStdName); ls == nil || len(ls.Data) != 1 {
		t.Fatalf("checkpoint weights lack a 1-element %s", policy.LogStdName)
	}

	// evaluate: whole episodes, reproducible.
	code, evOut, stderr := run(t, ctx, "evaluate", dir, "--episodes", "2", "--seed", "9", "--json")
	if code != ExitOK {
		t.Fatalf("evaluate = %d: %s", code, stderr)
	}
	var ev Evaluation
	if err := json.Unmarshal([]byte(evOut), &ev); err != nil {
		t.Fatalf("evaluate --json printed %q: %v", evOut, err)
	}
	if ev.Env != "Pendulum-v1" || ev.Episodes != 2 || len(ev.Returns) != 2 || ev.LengthMean != 200 {
		t.Errorf("evaluation = %+v; want 2 Pendulum episodes of 200 steps", ev)
	}
	if _, again, _ := run(t, ctx, "evaluate", dir, "--episodes", "2", "--seed", "9", "--json"); again != evOut {
		t.Errorf("evaluate is not deterministic:\n%s\n%s", evOut, again)
	}

	// export: the file has the bounds and the checkpoint's statistics.
	out := filepath.Join(tmp, "policy.msgpack")
	if code, _, stderr := run(t, ctx, "export", dir, "--out", out); code != ExitOK {
		t.Fatalf("export = %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := policy.DecodeExported(data)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Kind != "actor_critic" || exp.NumActions != 0 || !reflect.DeepEqual(exp.ActionLow, []float32{-2}) || !reflect.DeepEqual(exp.ActionHigh, []float32{2}) || len(exp.ObsLow) != 3 {
		t.Errorf("exported kind %q, %d actions, bounds %v..%v, %d observations; want actor_critic, 0, [-2]..[2], 3", exp.Kind, exp.NumActions, exp.ActionLow, exp.ActionHigh, len(exp.ObsLow))
	}
	if exp.Weights == nil || !reflect.DeepEqual(exp.Weights.ObsNorm, ckW.ObsNorm) {
		t.Errorf("exported ObsNorm = %+v\nwant the checkpoint's %+v", exp.Weights.ObsNorm, ckW.ObsNorm)
	}
	if exp.Model.LogStdInit != -0.5 {
		t.Errorf("exported model %+v; want log_std_init -0.5", exp.Model)
	}

	p, err := policy.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Continuous() {
		t.Fatal("the exported Pendulum policy is not continuous")
	}
	if lo, hi := p.ActionBounds(); !reflect.DeepEqual(lo, []float32{-2}) || !reflect.DeepEqual(hi, []float32{2}) {
		t.Errorf("ActionBounds = %v, %v; want [-2], [2]", lo, hi)
	}
	if _, err := p.Act([]float32{1, 0, 0}); err == nil {
		t.Error("Act on the continuous export succeeded")
	}
	rng := envs.NewRand(4, 4)
	for i := range 200 {
		th := rng.Float64() * 2 * math.Pi
		obs := []float32{float32(math.Cos(th)), float32(math.Sin(th)), float32(rng.Float64()*16 - 8)}
		if i%50 == 0 {
			obs[2] = float32(1e6 * (rng.Float64() - 0.5)) // far outside the statistics: clipped by ObsNorm
		}
		a, err := p.ActContinuous(obs)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 1 || !(a[0] >= -2 && a[0] <= 2) {
			t.Fatalf("ActContinuous(%v) = %v; want one action in [-2, 2]", obs, a)
		}
	}

	// Served through the exported file, the policy scores what the
	// checkpoint's greedy policy scored in rltrain evaluate.
	served, err := algorithms.EvaluateWrapped(ctx, "Pendulum-v1", nil, []envs.WrapperSpec{{Name: envs.WrapClipAction}}, contGreedyFunc(func(obs []float32, n int, actions []float32) {
		a, err := p.ActContinuous(obs)
		if err != nil {
			t.Fatal(err)
		}
		copy(actions, a)
	}), 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(served.Returns, ev.Returns) {
		t.Errorf("exported policy's returns %v; rltrain evaluate's %v: want equal", served.Returns, ev.Returns)
	}
	// And they are the env's own returns: Pendulum-v1 stepped here, reset
	// with seeds 9 and 10, with the exported policy's actions, summing its
	// raw rewards (no reward normalisation). Three iterations cannot beat a
	// random policy on Pendulum, so this pins the numbers instead.
	env, err := envs.Make("Pendulum-v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for ep, want := range ev.Returns {
		obs, _, err := env.Reset(envs.Seed(9 + uint64(ep)))
		if err != nil {
			t.Fatal(err)
		}
		var ret float64
		for {
			a, err := p.ActContinuous(obs)
			if err != nil {
				t.Fatal(err)
			}
			r, err := env.Step(envs.ContinuousAction(a...))
			if err != nil {
				t.Fatal(err)
			}
			ret += r.Reward
			if r.Done() {
				break
			}
			obs = r.Obs
		}
		if math.Abs(ret-want) > 1e-9*math.Abs(ret) || !(ret < 0) {
			t.Errorf("episode %d: Pendulum-v1's own return with the exported policy = %v; rltrain evaluate said %v", ep, ret, want)
		}
	}
}
