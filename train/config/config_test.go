package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/rlgo/rlgo/algorithms/dqn"
	"github.com/rlgo/rlgo/algorithms/ppo"

	_ "github.com/rlgo/rlgo/envs/classic"
	_ "github.com/rlgo/rlgo/envs/minatar" // the shipped MinAtar configs
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLoadErrors checks that every kind of bad input fails with one
// message naming the file, line and key.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		sets []string
		want string // the whole message
	}{
		{"unknown-key-flow.yaml", nil, `testdata/unknown-key-flow.yaml:3: ppo.lrr: unknown key "lrr" (known keys here: adam_eps, clip, clip_schedule, clip_value_loss, entropy_coeff, entropy_schedule, epochs, gamma, lambda, lr, lr_schedule, max_grad_norm, minibatches, normalize_advantages, target_kl, vf_coeff)`},
		{"unknown-key-block.yaml", nil, `testdata/unknown-key-block.yaml:6: ppo.lrr: unknown key "lrr"`},
		{"wrong-type.yaml", nil, "testdata/wrong-type.yaml:4: ppo.lr: cannot unmarshal !!str `fast` into float64"},
		{"unknown-env.yaml", nil, `testdata/unknown-env.yaml:2: env.id: unknown env id "CartPol-v1" (registered: `},
		{"unknown-algorithm.yaml", nil, `testdata/unknown-algorithm.yaml:2: algorithm: unknown algorithm "sac" (known: dqn, ppo)`},
		{"bad-value.yaml", nil, "testdata/bad-value.yaml:3: rollout.workers: want 1..4096, got 0"},
		{"minibatches.yaml", nil, "testdata/minibatches.yaml:3: ppo.minibatches: 3 does not divide the train batch of 512 steps"},
		{"no-env.yaml", nil, "testdata/no-env.yaml: env.id: required"},
		{"syntax.yaml", nil, "testdata/syntax.yaml:"},
		{"missing.yaml", nil, "testdata/missing.yaml: read config: no such file or directory"},
		{"good.yaml", []string{"ppo.lrr=1"}, `--set ppo.lrr=1: ppo.lrr: unknown key "lrr"`},
		{"good.yaml", []string{"ppo.lr=x"}, "--set ppo.lr=x: ppo.lr: cannot unmarshal !!str `x` into float64"},
		{"good.yaml", []string{"ppo.epochs=0"}, "--set ppo.epochs=0: ppo.epochs: want >= 1, got 0"},
		{"good.yaml", []string{"novalue"}, "--set novalue: want key=value"},
		{"good.yaml", []string{"ppo..lr=1"}, "--set ppo..lr=1: ppo..lr: empty key component"},
		{"good.yaml", []string{"stopp.iterations=1"}, `--set stopp.iterations=1: stopp: unknown key "stopp" (known keys here: algorithm, checkpoint,`},
		{"good.yaml", []string{"learner.device=cuda:0"}, "--set learner.device=cuda:0: learner.device: device cuda:0 requested, but this learner is built without GPU support"},
		{"good.yaml", []string{"learner.device=tpu"}, `--set learner.device=tpu: learner.device: "tpu": want auto, cpu or cuda:N`},
	}
	for _, tt := range tests {
		_, err := Load(filepath.Join("testdata", tt.file), tt.sets)
		if err == nil {
			t.Errorf("Load(%s, %q) = nil error; want %q", tt.file, tt.sets, tt.want)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Load(%s, %q) error %T is not a *config.Error", tt.file, tt.sets, err)
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Load(%s, %q) = %q; want prefix %q", tt.file, tt.sets, err, tt.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Load(%s, %q) = %q; want one line", tt.file, tt.sets, err)
		}
	}
}

// TestLoadResolved checks defaults, overrides and the resolved YAML
// against a golden file.
func TestLoadResolved(t *testing.T) {
	l, err := Load("testdata/good.yaml", []string{"ppo.lr=1e-3", "rollout.workers=4", "model.hidden=[16,16]", "env.options.max_episode_steps=100"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Section.(*ppo.Config).LR != 1e-3 || l.Rollout.Workers != 4 || l.Rollout.EnvsPerWorker != 2 || len(l.Model.Hidden) != 2 || l.Model.Activation != "relu" {
		t.Errorf("Load = %+v; want lr 1e-3, 4 workers × 2 envs, hidden [16 16], relu", l.Config)
	}
	if l.Stop.EpisodeReturnMean == nil || *l.Stop.EpisodeReturnMean != 100 {
		t.Errorf("stop.episode_return_mean = %v; want 100", l.Stop.EpisodeReturnMean)
	}
	if got, want := l.Where("ppo.lr"), "--set ppo.lr=1e-3"; got != want {
		t.Errorf("Where(ppo.lr) = %q; want %q", got, want)
	}
	if got, want := l.Where("stop.env_steps"), "testdata/good.yaml:4"; got != want {
		t.Errorf("Where(stop.env_steps) = %q; want %q", got, want)
	}
	got, err := l.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "good.resolved.golden")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("resolved config =\n%s\nwant\n%s", got, want)
	}
	// The resolved config loads back to the same config.
	again, err := Parse("resolved", got, nil)
	if err != nil {
		t.Fatalf("resolved config does not load: %v", err)
	}
	if y, _ := again.YAML(); string(y) != string(got) {
		t.Errorf("resolved config changed on reload:\n%s\nwant\n%s", y, got)
	}
}

func TestShippedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "\ntune:") {
			continue // an experiment for rltrain tune (train/tune checks it), not a run's config
		}
		if _, err := Load(f, nil); err != nil {
			t.Errorf("Load(%s) = %v", f, err)
		}
	}
}
