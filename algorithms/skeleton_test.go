package algorithms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

func TestSetupDefaultsAndValidate(t *testing.T) {
	s := algorithms.Setup{EnvID: "CartPole-v1"}.WithDefaults()
	if got, want := s.Model.Hidden, policy.DefaultModelConfig().Hidden; len(got) != len(want) || s.Model.Activation != policy.Tanh {
		t.Errorf("zero Model → %+v; want policy.DefaultModelConfig()", s.Model)
	}
	if m := (algorithms.Setup{EnvID: "CartPole-v1", Model: policy.ModelConfig{Init: policy.InitTorchDefault}}).WithDefaults().Model; m.Init != policy.InitTorchDefault || len(m.Hidden) != 2 {
		t.Errorf("a Model setting only init → %+v; want the default layers with init kept", m)
	}
	if s.Rollout != rollout.DefaultConfig() {
		t.Errorf("zero Rollout → %+v; want rollout.DefaultConfig()", s.Rollout)
	}
	for _, tc := range []struct {
		name string
		s    algorithms.Setup
		key  string
	}{
		{"no env", algorithms.Setup{}.WithDefaults(), "env.id"},
		{"bad activation", algorithms.Setup{EnvID: "CartPole-v1", Model: policy.ModelConfig{Hidden: []int{8}, Activation: "sigmoid"}}.WithDefaults(), "model"},
		{"no workers", algorithms.Setup{EnvID: "CartPole-v1", Rollout: rollout.Config{EnvsPerWorker: 1, FragmentLength: 8}}.WithDefaults(), "rollout.workers"},
	} {
		err := tc.s.Validate()
		var fe *algorithms.FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Key, tc.key) {
			t.Errorf("%s: Validate() = %v; want a FieldError for %s", tc.name, err, tc.key)
		}
	}
}

// testConfig is a registrable config section for the registry tests.
type testConfig struct{ N int }

func (c testConfig) Validate() error {
	if c.N < 0 {
		return errors.New("n: want >= 0")
	}
	return nil
}

func TestRegistry(t *testing.T) {
	build := func(testConfig, algorithms.Setup) (algorithms.Algorithm, error) {
		return nil, errors.New("not built in this test")
	}
	pol := func(testConfig, algorithms.Setup, rollout.Spaces) (rollout.PolicySpec, error) {
		return rollout.PolicySpec{}, nil
	}
	reg := algorithms.Of("skeleton-test", func() testConfig { return testConfig{N: 3} }, build, pol)
	algorithms.Register(reg)
	got, err := algorithms.Lookup("skeleton-test")
	if err != nil {
		t.Fatal(err)
	}
	if c := got.NewConfig().(*testConfig); c.N != 3 {
		t.Errorf("NewConfig() = %+v; want the defaults", c)
	}
	// Check prefixes the section's name to the key of a "key: msg" error.
	err = got.Check(&testConfig{N: -1}, algorithms.Setup{EnvID: "CartPole-v1"}.WithDefaults())
	var fe *algorithms.FieldError
	if !errors.As(err, &fe) || fe.Key != "skeleton-test.n" {
		t.Errorf("Check(n = -1) = %v; want a FieldError for skeleton-test.n", err)
	}
	if _, err := algorithms.Lookup("no-such-algorithm"); err == nil || !strings.Contains(err.Error(), "skeleton-test") {
		t.Errorf("Lookup(unknown) = %v; want an error listing the known names", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second Register of one name did not panic")
		}
	}()
	algorithms.Register(reg)
}

type metricsStruct struct {
	Loss   float64 `metric:"loss"`
	Hidden float64
	Steps  int `metric:"steps"`
}

func TestLearnerMetricsCarryTheirNames(t *testing.T) {
	got := algorithms.LearnerMetrics(metricsStruct{Loss: 0.5, Hidden: 9, Steps: 7})
	want := []algorithms.Metric{{Name: "learner/loss", Value: 0.5}, {Name: "learner/steps", Value: 7}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("LearnerMetrics = %v; want %v", got, want)
	}
	if names := algorithms.LearnerMetricNames(metricsStruct{}); len(names) != 2 || names[1] != "learner/steps" {
		t.Errorf("LearnerMetricNames = %v", names)
	}
}

func TestDecodeLimitsFromTheFile(t *testing.T) {
	var v struct{ A []int }
	if err := algorithms.Decode(map[string][]byte{}, "x.msgpack", &v); err == nil || !strings.Contains(err.Error(), "lacks x.msgpack") {
		t.Errorf("Decode(missing) = %v", err)
	}
	// An array32 header declaring 2^31 elements in a 5-byte file.
	bad := map[string][]byte{"x.msgpack": {0x81, 0xa1, 'A', 0xdd, 0x7f, 0xff, 0xff, 0xff}}
	if err := algorithms.Decode(bad, "x.msgpack", &v); err == nil {
		t.Error("Decode accepted an array header larger than its file")
	}
}
