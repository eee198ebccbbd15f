package remote

import (
	"strings"
	"testing"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// TestWorkerRefusesMismatchedSpaces checks that a worker whose env does
// not fit the learner's policy (another observation size, or discrete
// actions for a continuous policy) refuses to act, saying what differs.
func TestWorkerRefusesMismatchedSpaces(t *testing.T) {
	model := policy.DefaultModelConfig()
	for _, spec := range []rollout.PolicySpec{
		rollout.ActorCriticPolicy(policy.ActorCriticSpec{ObsDim: 5, NumActions: 2, Model: model}),
		rollout.ActorCriticPolicy(policy.ActorCriticSpec{ObsDim: 4, ActionDim: 1, Model: model}),
	} {
		reg := &RegisterReply{Index: 0, EnvID: "CartPole-v1", EnvsPerWorker: 1, FragmentLength: 8, Spec: spec}
		_, err := rolloutWorker(reg, nil, 0)
		if err == nil || !strings.Contains(err.Error(), "the learner's policy expects") {
			t.Errorf("spec %+v on CartPole-v1: err = %v; want a spaces mismatch", spec.ActorCritic, err)
		}
	}
}
