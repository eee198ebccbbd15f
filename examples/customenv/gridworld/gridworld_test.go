package gridworld_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/algorithms"

	"github.com/rlgo/rlgo/algorithms/ppo"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/examples/customenv/gridworld"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func TestRegistered(t *testing.T) {
	spec, err := envs.Lookup(gridworld.ID)
	if err != nil {
		t.Fatal(err)
	}
	if spec.MaxEpisodeSteps != gridworld.MaxEpisodeSteps || !spec.HasThreshold {
		t.Errorf("spec %+v", spec)
	}
}

func TestCheckPassesCleanly(t *testing.T) {
	env, err := envs.Make(gridworld.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := envs.Check(env); len(r.Problems) != 0 {
		t.Errorf("envs.Check(GridWorld-v0) found problems:\n%s", r)
	}
}

func TestMoves(t *testing.T) {
	g, err := gridworld.New(envs.Options{"step_cost": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	g.Reset(envs.Seed(1))
	tests := []struct {
		row, col, action int
		wantRow, wantCol int
		reward           float64
		terminated       bool
	}{
		{0, 0, gridworld.Up, 0, 0, -0.5, false},    // off the grid: stay
		{0, 0, gridworld.Left, 0, 0, -0.5, false},  // off the grid: stay
		{0, 0, gridworld.Right, 0, 1, -0.5, false}, // free cell
		{0, 1, gridworld.Down, 0, 1, -0.5, false},  // wall at (1, 1): stay
		{2, 2, gridworld.Right, 2, 2, -0.5, false}, // wall at (2, 3): stay
		{2, 2, gridworld.Down, 3, 2, -0.5, false},
		{3, 4, gridworld.Down, 4, 4, 1, true}, // the goal
		{4, 3, gridworld.Right, 4, 4, 1, true},
		{4, 0, gridworld.Left, 4, 0, -0.5, false},
	}
	for _, tt := range tests {
		g.Row, g.Col = tt.row, tt.col
		r, err := g.Step(envs.DiscreteAction(tt.action))
		if err != nil {
			t.Fatal(err)
		}
		if g.Row != tt.wantRow || g.Col != tt.wantCol || r.Reward != tt.reward || r.Terminated != tt.terminated || r.Truncated {
			t.Errorf("from (%d, %d) action %d: at (%d, %d), reward %v, terminated %v; want (%d, %d), %v, %v",
				tt.row, tt.col, tt.action, g.Row, g.Col, r.Reward, r.Terminated, tt.wantRow, tt.wantCol, tt.reward, tt.terminated)
		}
		want := make([]float32, 25)
		want[tt.wantRow*5+tt.wantCol] = 1
		if !slices.Equal(r.Obs, want) {
			t.Errorf("observation %v, want one-hot cell %d", r.Obs, tt.wantRow*5+tt.wantCol)
		}
	}
}

func TestErrors(t *testing.T) {
	g, err := gridworld.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Reset(nil)
	if _, err := g.Step(envs.DiscreteAction(4)); !errors.Is(err, envs.ErrInvalidAction) {
		t.Errorf("Step(4) error %v, want one wrapping ErrInvalidAction", err)
	}
	for _, opts := range []envs.Options{{"step_cost": -1}, {"step_cost": "high"}, {"size": 7}} {
		if _, err := gridworld.New(opts); err == nil {
			t.Errorf("New(%v) accepted bad options", opts)
		}
	}
}

// TestPPOLearnsGridWorld trains PPO on the env from Go, as
// examples/customenv/train does, and asserts that it gets near the
// optimum (0.968 on average over the starts) within 20 iterations
// (10,240 env steps; it takes about 7 and a few seconds).
func TestPPOLearnsGridWorld(t *testing.T) {
	cfg := ppo.DefaultConfig()
	cfg.LR = 3e-3
	p, err := ppo.New(cfg, algorithms.Setup{EnvID: gridworld.ID, Seed: 1, Model: policy.DefaultModelConfig(), Rollout: rollout.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var best float64 = -1
	for range 20 {
		r, err := p.Train(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.HasEpisodes {
			best = max(best, r.EpisodeReturnMean)
		}
		if best >= 0.93 {
			return
		}
	}
	t.Errorf("PPO reached a mean return of %.3f in 20 iterations, want >= 0.93", best)
}

func TestSnapshotRestore(t *testing.T) {
	g, _ := gridworld.New(nil)
	g.Reset(envs.Seed(5))
	g.Step(envs.DiscreteAction(gridworld.Right))
	snap, err := g.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for range 3 {
		obs, _, _ := g.Reset(nil)
		want = append(want, fmt.Sprint(obs))
	}
	h, _ := gridworld.New(nil)
	if err := h.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if obs, _, _ := h.Reset(nil); fmt.Sprint(obs) != want[i] {
			t.Errorf("reset %d after Restore = %v, want %v", i, obs, want[i])
		}
	}
	for _, bad := range [][]byte{nil, {9, 9}, {1, 1}, {0, 0, 1}} {
		if err := h.Restore(bad); err == nil {
			t.Errorf("Restore(%v) accepted bad bytes", bad)
		}
	}
}
