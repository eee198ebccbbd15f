package reinforce_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	_ "github.com/rlgo/rlgo/examples/reinforce" // its registration is all it takes
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
)

// TestReinforceSolvesCartPoleByName trains the third algorithm, known to
// the rest of rlgo only through its registration, from a YAML config
// through train.RunConfig, and judges it by numbers the algorithm does
// not compute: the episodes' returns as train writes them, and a greedy
// evaluation on fresh envs with other seeds.
func TestReinforceSolvesCartPoleByName(t *testing.T) {
	yaml := `name: reinforce
algorithm: reinforce
env: {id: CartPole-v1}
seed: 1
stop: {episode_return_mean: 195, env_steps: 400000}
rollout: {workers: 2, envs_per_worker: 4, fragment_length: 64}
reinforce: {lr: 0.003, gamma: 0.99}
`
	cfg, err := config.Parse("reinforce.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := train.RunConfig(context.Background(), &cfg.Config, train.Options{Out: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !out.TargetMet {
		t.Fatalf("episode_return_mean %.1f after %d env steps; want 195 within 400k", out.Last.EpisodeReturnMean, out.Last.EnvSteps)
	}
	t.Logf("reached %.1f at %d env steps", out.Last.EpisodeReturnMean, out.Last.EnvSteps)
	// The run directory is a run like any other: its config names the
	// algorithm and its checkpoint restores into a fresh build.
	if _, err := os.Stat(filepath.Join(dir, "checkpoints")); err != nil {
		t.Errorf("no checkpoints: %v", err)
	}
	again, err := config.Load(filepath.Join(dir, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	algo, err := train.NewAlgorithm(&again.Config, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer algo.Close()
	// Resuming a run that reached its target needs the target lifted.
	again.Stop.EpisodeReturnMean, again.Stop.Iterations = nil, out.Last.Iteration+2
	out2, err := train.Run(context.Background(), algo, train.Options{Config: &again.Config, Out: dir, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if out2.Last.Iteration != out.Last.Iteration+2 {
		t.Errorf("resumed run ended at iteration %d; want %d (two past the checkpoint)", out2.Last.Iteration, out.Last.Iteration+2)
	}
	// Greedy evaluation of the resumed policy on fresh envs (seeds the run never used).
	pol, err := algo.(algorithms.GreedyPolicy).GreedyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := algorithms.Evaluate(context.Background(), "CartPole-v1", nil, pol, 10, 9_000_000)
	if err != nil {
		t.Fatal(err)
	}
	// A random policy scores ~22 on CartPole-v1; a policy that learned scores far above.
	if ev.ReturnMean < 150 {
		t.Errorf("greedy evaluation after resuming at iteration %d: mean return %.1f; want >= 150", out2.Last.Iteration, ev.ReturnMean)
	}
}
