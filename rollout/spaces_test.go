package rollout_test

import (
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/rollout"
)

// TestEnvSpaces checks the spaces every algorithm and the CLI build their
// policies from: a Discrete action count or a Box of actions, the
// observation Box after the env wrappers, and a clear error for an env
// that cannot be made.
func TestEnvSpaces(t *testing.T) {
	s, err := rollout.EnvSpaces(rollout.WorkerSpec{EnvID: "CartPole-v1"})
	if err != nil || s.Obs.Size() != 4 || s.NumActions != 2 || s.Actions != nil {
		t.Errorf("CartPole-v1: %+v, %v; want 4 observations and 2 discrete actions", s, err)
	}
	s, err = rollout.EnvSpaces(rollout.WorkerSpec{EnvID: "Pendulum-v1", Wrappers: []envs.WrapperSpec{{Name: envs.WrapFrameStack, Options: envs.Options{"n": 2}}, {Name: envs.WrapNormalizeObservation}}})
	if err != nil || s.Obs.Size() != 6 || s.NumActions != 0 || s.Actions == nil || s.Actions.Size() != 1 {
		t.Errorf("Pendulum-v1 with 2 stacked frames: %+v, %v; want 6 observations and a 1-element Box of actions", s, err)
	}
	if _, err := rollout.EnvSpaces(rollout.WorkerSpec{EnvID: "NoSuchEnv-v0"}); err == nil || !strings.Contains(err.Error(), "NoSuchEnv-v0") {
		t.Errorf("unknown env: err = %v; want one naming it", err)
	}
}
