package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/rollout"
)

// TestEnvWrappersParse proves that env.wrappers reads names and
// single-key maps of a name to its options, in flow and block style, into
// the WrapperSpecs the workers get, first entry first.
func TestEnvWrappersParse(t *testing.T) {
	want := []envs.WrapperSpec{
		{Name: "clip_action"},
		{Name: "normalize_reward", Options: envs.Options{"gamma": 0.9, "clip": 10}},
		{Name: "normalize_observation", Options: envs.Options{"clip": 5}},
	}
	tests := []struct {
		name string
		yaml string
		want []envs.WrapperSpec
	}{
		{"flow", "env: {id: Pendulum-v1, wrappers: [clip_action, {normalize_reward: {gamma: 0.9, clip: 10}}, {normalize_observation: {clip: 5}}]}\n", want},
		{"block", `env:
  id: Pendulum-v1
  wrappers:
    - clip_action
    - normalize_reward:
        gamma: 0.9
        clip: 10
    - normalize_observation: {clip: 5}
`, want},
		{"name with null options", "env:\n  id: Pendulum-v1\n  wrappers:\n    - clip_action:\n    - {frame_stack: {n: 3, padding: zero}}\n",
			[]envs.WrapperSpec{{Name: "clip_action"}, {Name: "frame_stack", Options: envs.Options{"n": 3, "padding": "zero"}}}},
		{"none", "env: {id: Pendulum-v1}\n", []envs.WrapperSpec{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse("w.yaml", []byte(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Env.WrapperSpecs(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WrapperSpecs() = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestEnvWrappersErrors proves that a bad env.wrappers entry fails
// validation with one line naming the file, the entry's line and its key
// (env.wrappers[i]) and what is wrong: an unknown wrapper, an unknown or
// out-of-range option, normalize_observation before frame_stack or twice,
// and entries of the wrong form.
func TestEnvWrappersErrors(t *testing.T) {
	block := func(entries ...string) string {
		return "env:\n  id: Pendulum-v1\n  wrappers:\n    - " + strings.Join(entries, "\n    - ") + "\n"
	}
	tests := []struct {
		name string
		yaml string
		want string // a prefix of the message
	}{
		{"unknown wrapper", block("clip_action", "normalise_reward"),
			`w.yaml:5: env.wrappers[1]: unknown wrapper "normalise_reward" (known: clip_action, frame_stack, normalize_observation, normalize_reward, transform_reward, episode_statistics)`},
		{"out-of-range option", block("clip_action", "{normalize_reward: {gamma: 2}}"),
			"w.yaml:5: env.wrappers[1]: option gamma: want in [0, 1], got 2"},
		{"unknown option", block("clip_action", "normalize_reward: {gama: 0.9}"),
			"w.yaml:5: env.wrappers[1]: unknown option(s) gama (known: gamma, epsilon, clip)"},
		{"option of the wrong type", block("clip_action", "frame_stack: {n: four}"),
			"w.yaml:5: env.wrappers[1]: option n: want a number, got string four"},
		{"normalize_observation before frame_stack", block("clip_action", "normalize_observation", "frame_stack"),
			"w.yaml:5: env.wrappers[1]: normalize_observation must come after frame_stack"},
		{"normalize_observation twice", block("normalize_observation", "normalize_observation: {clip: 5}"),
			"w.yaml:4: env.wrappers[0]: normalize_observation must come after normalize_observation"},
		{"flow style", "env: {id: Pendulum-v1, wrappers: [clip_action, {frame_stack: {n: 0}}]}\n",
			"w.yaml:1: env.wrappers[1]: option n: want an integer in [1, 1024], got 0"},
		{"two names in one entry", block("clip_action", "{clip_action: null, frame_stack: null}"),
			"w.yaml:5: env.wrappers[1]"},
		{"options not a map", block("clip_action", "{frame_stack: 4}"),
			"w.yaml:5: env.wrappers[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tt.yaml), nil)
			if err == nil {
				t.Fatalf("Parse accepted\n%s", tt.yaml)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse = %q\nwant prefix     %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse = %q; want one line", err)
			}
		})
	}
	// A frame_stack before normalize_observation is the order asked for.
	if _, err := Parse("w.yaml", []byte(block("frame_stack", "normalize_observation", "normalize_reward")), nil); err != nil {
		t.Errorf("frame_stack, normalize_observation, normalize_reward: %v", err)
	}
}

// TestEnvMetrics proves that env.metrics parses into MetricSpecs and that
// an invalid declaration (duplicate name, bad name, unknown aggregation)
// fails with the file, an env key and the reason.
func TestEnvMetrics(t *testing.T) {
	l, err := Parse("m.yaml", []byte("env:\n  id: CartPole-v1\n  metrics:\n    - {name: crashes}\n    - {name: x_final, info_key: x, agg: last}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []rollout.MetricSpec{{Name: "crashes"}, {Name: "x_final", InfoKey: "x", Agg: "last"}}
	if !reflect.DeepEqual(l.Env.Metrics, want) {
		t.Errorf("env.metrics = %+v, want %+v", l.Env.Metrics, want)
	}
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the message
	}{
		{"duplicate name", "env:\n  id: CartPole-v1\n  metrics:\n    - {name: crashes}\n    - {name: crashes, agg: last}\n",
			[]string{"m.yaml:", "env", "metrics[1].name", `"crashes" is declared twice`}},
		{"bad name", "env:\n  id: CartPole-v1\n  metrics: [{name: 'a b'}]\n",
			[]string{"m.yaml:", "env", "metrics[0].name", `"a b"`}},
		{"unknown aggregation", "env:\n  id: CartPole-v1\n  metrics: [{name: a, agg: max}]\n",
			[]string{"m.yaml:", "env", "metrics[0].agg", `"max"`, "want sum or last"}},
		{"unknown key", "env:\n  id: CartPole-v1\n  metrics: [{name: a, aggregate: max}]\n",
			[]string{"m.yaml:3:", `unknown key "aggregate"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tt.yaml), nil)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse = %q; want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestEnvMetricsErrorNamesTheEntry proves that an invalid env.metrics
// entry is reported at its own line with its own key, as env.wrappers
// entries are.
func TestEnvMetricsErrorNamesTheEntry(t *testing.T) {
	_, err := Parse("m.yaml", []byte("env:\n  id: CartPole-v1\n  metrics:\n    - {name: crashes}\n    - {name: crashes, agg: last}\n"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "m.yaml:5: env.metrics[1]") {
		t.Errorf("Parse = %v; want the prefix m.yaml:5: env.metrics[1]", err)
	}
}

// TestEnvWrappersResolvedRoundTrip proves that the resolved config
// (Config.YAML, written to the run directory and checkpoints) reads back
// with the same wrappers and metrics.
func TestEnvWrappersResolvedRoundTrip(t *testing.T) {
	src := `env:
  id: Pendulum-v1
  wrappers: [clip_action, {normalize_reward: {gamma: 0.9, clip: 10}}, {normalize_observation: {clip: 5, epsilon: 1.0e-6}}, episode_statistics]
  metrics: [{name: hits, info_key: hit}, {name: last_x, agg: last}]
`
	l, err := Parse("r.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.Config.YAML()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("resolved.yaml", out, nil)
	if err != nil {
		t.Fatalf("resolved config does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again.Env.WrapperSpecs(), l.Env.WrapperSpecs()) {
		t.Errorf("wrappers after the round trip = %#v\nwant %#v\nresolved YAML:\n%s", again.Env.WrapperSpecs(), l.Env.WrapperSpecs(), out)
	}
	if !reflect.DeepEqual(again.Env.Metrics, l.Env.Metrics) {
		t.Errorf("metrics after the round trip = %+v, want %+v", again.Env.Metrics, l.Env.Metrics)
	}
	if !reflect.DeepEqual(again.Config, l.Config) {
		t.Errorf("resolved config differs after a round trip:\n%s", out)
	}
}
