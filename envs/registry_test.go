package envs_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

var idCounter atomic.Int64

// uniqueID returns an env id no other test (nor a -count=N rerun) uses: the
// registry is global to the test binary.
func uniqueID(name string) string {
	return fmt.Sprintf("test/%s-%d-v0", name, idCounter.Add(1))
}

// recordingFactory returns a Factory that records the options it gets and
// makes counterEnvs, or fails with errFake when opts has "fail".
func recordingFactory(got *[]envs.Options) envs.Factory {
	return func(opts envs.Options) (envs.Env, error) {
		*got = append(*got, opts)
		if _, ok := opts["fail"]; ok {
			return nil, errFake
		}
		return &counterEnv{}, nil
	}
}

func TestRegister(t *testing.T) {
	id := uniqueID("Register")
	factory := func(envs.Options) (envs.Env, error) { return &counterEnv{}, nil }
	spec := envs.Spec{ID: id, New: factory, MaxEpisodeSteps: 9, RewardThreshold: 3, HasThreshold: true, Description: "d"}
	if err := envs.Register(spec); err != nil {
		t.Fatalf("Register(%q) error: %v", id, err)
	}
	tests := []struct {
		name string
		spec envs.Spec
	}{
		{"duplicate", envs.Spec{ID: id, New: factory}},
		{"empty id", envs.Spec{New: factory}},
		{"nil factory", envs.Spec{ID: uniqueID("NilFactory")}},
	}
	for _, tt := range tests {
		if err := envs.Register(tt.spec); err == nil {
			t.Errorf("%s: Register(%q) = nil; want an error", tt.name, tt.spec.ID)
		}
	}
	got, err := envs.Lookup(id)
	if err != nil {
		t.Fatalf("Lookup(%q) error: %v", id, err)
	}
	if got.ID != id || got.MaxEpisodeSteps != 9 || got.RewardThreshold != 3 || !got.HasThreshold || got.Description != "d" || got.New == nil {
		t.Errorf("Lookup(%q) = %+v; want the registered spec %+v", id, got, spec)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("MustRegister(duplicate %q) did not panic", id)
			}
		}()
		envs.MustRegister(envs.Spec{ID: id, New: factory})
	}()
}

func TestLookupUnknown(t *testing.T) {
	known := uniqueID("Known")
	envs.MustRegister(envs.Spec{ID: known, New: func(envs.Options) (envs.Env, error) { return &counterEnv{}, nil }})
	for _, call := range []struct {
		name string
		f    func(string) error
	}{
		{"Lookup", func(id string) error { _, err := envs.Lookup(id); return err }},
		{"Make", func(id string) error { _, err := envs.Make(id, nil); return err }},
	} {
		err := call.f("NoSuchEnv-v9")
		if !errors.Is(err, envs.ErrUnknownEnv) {
			t.Errorf("%s(NoSuchEnv-v9) error = %v; want one wrapping ErrUnknownEnv", call.name, err)
			continue
		}
		for _, want := range []string{`"NoSuchEnv-v9"`, known} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s(NoSuchEnv-v9) error = %q; want it to mention %s", call.name, err, want)
			}
		}
	}
}

func TestRegistered(t *testing.T) {
	a, b := uniqueID("Zeta"), uniqueID("Alpha")
	for _, id := range []string{a, b} {
		envs.MustRegister(envs.Spec{ID: id, New: func(envs.Options) (envs.Env, error) { return &counterEnv{}, nil }})
	}
	specs := envs.Registered()
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	if !slices.IsSorted(ids) {
		t.Errorf("Registered() ids = %v; want them sorted", ids)
	}
	for _, id := range []string{a, b} {
		if !slices.Contains(ids, id) {
			t.Errorf("Registered() ids = %v; want %q among them", ids, id)
		}
	}
}

func TestMakeTimeLimit(t *testing.T) {
	var got []envs.Options
	id := uniqueID("Make")
	envs.MustRegister(envs.Spec{ID: id, New: recordingFactory(&got), MaxEpisodeSteps: 5})
	noLimit := uniqueID("MakeNoLimit")
	envs.MustRegister(envs.Spec{ID: noLimit, New: recordingFactory(&got)})

	tests := []struct {
		name      string
		id        string
		opts      envs.Options
		wantLimit int // 0: not wrapped
	}{
		{"spec limit", id, nil, 5},
		{"no limit", noLimit, nil, 0},
		{"override int", id, envs.Options{"max_episode_steps": 10}, 10},
		{"override int64", id, envs.Options{"max_episode_steps": int64(11)}, 11},
		{"override uint64", id, envs.Options{"max_episode_steps": uint64(12)}, 12},
		{"override float64", id, envs.Options{"max_episode_steps": 13.0}, 13},
		{"override 0 disables", id, envs.Options{"max_episode_steps": 0}, 0},
		{"add a limit", noLimit, envs.Options{"max_episode_steps": 2}, 2},
	}
	for _, tt := range tests {
		got = got[:0]
		env, err := envs.Make(tt.id, tt.opts)
		if err != nil {
			t.Errorf("%s: Make(%v) error: %v", tt.name, tt.opts, err)
			continue
		}
		tl, wrapped := env.(*envs.TimeLimit)
		switch {
		case tt.wantLimit == 0 && wrapped:
			t.Errorf("%s: Make(%v) = TimeLimit(%d); want the unwrapped env", tt.name, tt.opts, tl.MaxSteps)
		case tt.wantLimit > 0 && (!wrapped || tl.MaxSteps != tt.wantLimit):
			t.Errorf("%s: Make(%v) = %T %+v; want a TimeLimit of %d", tt.name, tt.opts, env, env, tt.wantLimit)
		}
		if _, ok := envs.Unwrapped(env).(*counterEnv); !ok {
			t.Errorf("%s: Unwrapped(Make(%v)) = %T; want *counterEnv", tt.name, tt.opts, envs.Unwrapped(env))
		}
		if len(got) != 1 {
			t.Fatalf("%s: factory called %d times; want 1", tt.name, len(got))
		}
		if _, ok := got[0][envs.MaxEpisodeStepsOption]; ok {
			t.Errorf("%s: factory got options %v; want max_episode_steps removed", tt.name, got[0])
		}
	}
}

// Make hands the env's own options to its factory, without
// max_episode_steps, and leaves the caller's map alone.
func TestMakeOptions(t *testing.T) {
	var got []envs.Options
	id := uniqueID("MakeOptions")
	envs.MustRegister(envs.Spec{ID: id, New: recordingFactory(&got), MaxEpisodeSteps: 5})
	opts := envs.Options{"max_episode_steps": 4, "gravity": 3.5, "name": "x"}
	before := maps.Clone(opts)
	if _, err := envs.Make(id, opts); err != nil {
		t.Fatal(err)
	}
	want := envs.Options{"gravity": 3.5, "name": "x"}
	if len(got) != 1 || !maps.Equal(got[0], want) {
		t.Errorf("factory got %v; want %v", got, want)
	}
	if !maps.Equal(opts, before) {
		t.Errorf("Make changed the caller's options to %v; want %v", opts, before)
	}
	// Without max_episode_steps the options pass through as given.
	got = got[:0]
	if _, err := envs.Make(id, envs.Options{"gravity": 1.0}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !maps.Equal(got[0], envs.Options{"gravity": 1.0}) {
		t.Errorf("factory got %v; want map[gravity:1]", got)
	}
}

func TestMakeErrors(t *testing.T) {
	var got []envs.Options
	id := uniqueID("MakeErrors")
	envs.MustRegister(envs.Spec{ID: id, New: recordingFactory(&got), MaxEpisodeSteps: 5})
	tests := []struct {
		name    string
		opts    envs.Options
		wrapped error
		mention string
	}{
		{"negative", envs.Options{"max_episode_steps": -1}, nil, "max_episode_steps"},
		{"fraction", envs.Options{"max_episode_steps": 2.5}, nil, "max_episode_steps"},
		{"string", envs.Options{"max_episode_steps": "10"}, nil, "max_episode_steps"},
		{"bool", envs.Options{"max_episode_steps": true}, nil, "max_episode_steps"},
		{"nil", envs.Options{"max_episode_steps": nil}, nil, "max_episode_steps"},
		{"factory error", envs.Options{"fail": true}, errFake, id},
	}
	for _, tt := range tests {
		got = got[:0]
		env, err := envs.Make(id, tt.opts)
		if err == nil {
			t.Errorf("%s: Make(%v) = %v, nil; want an error", tt.name, tt.opts, env)
			continue
		}
		if env != nil {
			t.Errorf("%s: Make(%v) = %v, %v; want a nil env with the error", tt.name, tt.opts, env, err)
		}
		if tt.wrapped != nil && !errors.Is(err, tt.wrapped) {
			t.Errorf("%s: Make(%v) error = %v; want one wrapping %v", tt.name, tt.opts, err, tt.wrapped)
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: Make(%v) error = %q; want it to mention %q", tt.name, tt.opts, err, tt.mention)
		}
		if tt.wrapped == nil && len(got) != 0 {
			t.Errorf("%s: Make(%v) called the factory; want the bad option rejected first", tt.name, tt.opts)
		}
	}
}

func TestUnknownOptions(t *testing.T) {
	tests := []struct {
		opts    envs.Options
		known   []string
		wantErr string // "" for nil
	}{
		{nil, nil, ""},
		{envs.Options{}, []string{"a"}, ""},
		{envs.Options{"a": 1, "b": 2}, []string{"a", "b", "c"}, ""},
		{envs.Options{"z": 1, "a": 1, "y": 2}, []string{"a"}, "unknown option(s) y, z (known: a)"},
		{envs.Options{"x": 1}, nil, "unknown option(s) x"},
	}
	for _, tt := range tests {
		err := envs.UnknownOptions(tt.opts, tt.known...)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("UnknownOptions(%v, %v) = %v; want nil", tt.opts, tt.known, err)
		case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("UnknownOptions(%v, %v) = %v; want %q", tt.opts, tt.known, err, tt.wantErr)
		}
	}
}

func TestFloatOption(t *testing.T) {
	tests := []struct {
		value   any // nil: absent
		want    float64
		wantErr bool
	}{
		{nil, 2.5, false},
		{1.25, 1.25, false},
		{float32(0.5), 0.5, false},
		{3, 3, false},
		{int64(-4), -4, false},
		{uint64(5), 5, false},
		{"6", 0, true},
		{true, 0, true},
	}
	for _, tt := range tests {
		opts := envs.Options{"other": 1}
		if tt.value != nil {
			opts["k"] = tt.value
		}
		got, err := envs.FloatOption(opts, "k", 2.5)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("FloatOption(%v, k, 2.5) = %v, %v; want %v (error %v)", opts, got, err, tt.want, tt.wantErr)
		}
	}
}
