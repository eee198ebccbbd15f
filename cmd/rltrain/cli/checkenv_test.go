package cli

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// runCheckEnv runs the check-env command as Run would, mapping its error
// to an exit code.
func runCheckEnv(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := newCheckEnv(&out, &errb)
	c.SilenceUsage, c.SilenceErrors = true, true
	c.SetOut(&out)
	c.SetErr(&errb)
	c.SetArgs(args)
	err := c.Execute()
	var ee *exitError
	switch {
	case err == nil:
		code = ExitOK
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = ExitUsage
	}
	return code, out.String(), errb.String()
}

// nanEnv breaks the contract: its third step's observation is NaN.
type nanEnv struct{ t int }

func (e *nanEnv) ObservationSpace() envs.Space { return envs.UniformBox(1, -10, 10) }
func (e *nanEnv) ActionSpace() envs.Space      { return envs.Discrete{N: 2} }
func (e *nanEnv) Close() error                 { return nil }
func (e *nanEnv) Reset(*uint64) ([]float32, envs.Info, error) {
	e.t = 0
	return []float32{0}, nil, nil
}
func (e *nanEnv) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, 2); err != nil {
		return envs.StepResult{}, err
	}
	e.t++
	x := float32(e.t)
	if e.t == 3 {
		x = float32(math.NaN())
	}
	return envs.StepResult{Obs: []float32{x}, Reward: 1}, nil
}

func init() {
	envs.MustRegister(envs.Spec{ID: "test/CheckEnvNaN-v0", New: func(envs.Options) (envs.Env, error) { return &nanEnv{}, nil }, MaxEpisodeSteps: 5})
}

func TestCheckEnvBuiltin(t *testing.T) {
	code, out, stderr := runCheckEnv(t, "CartPole-v1", "--steps", "300", "--seed", "4")
	if code != ExitOK {
		t.Fatalf("check-env CartPole-v1 = %d; want 0 (stdout %s, stderr %s)", code, out, stderr)
	}
	if want := "CartPole-v1: 0 error(s), 0 warning(s) in 300 random steps"; !strings.Contains(out, want) {
		t.Errorf("stdout %q lacks %q", out, want)
	}
}

func TestCheckEnvOptions(t *testing.T) {
	// max_episode_steps=0 removes the TimeLimit: MountainCar's random walk
	// then never ends within 300 steps, a warning (exit 0).
	code, out, _ := runCheckEnv(t, "MountainCar-v0", "--steps", "300", "--option", "max_episode_steps=0")
	if code != ExitOK || !strings.Contains(out, "warning  episode-end: no episode ended within 300 random steps") {
		t.Errorf("check-env MountainCar-v0 without a time limit = %d, %q; want 0 and an episode-end warning", code, out)
	}
	code, out, _ = runCheckEnv(t, "Pendulum-v1", "--option", "g=9.81", "--steps", "200")
	if code != ExitOK || !strings.Contains(out, "0 error(s), 0 warning(s)") {
		t.Errorf("check-env Pendulum-v1 --option g=9.81 = %d, %q; want a clean pass", code, out)
	}
}

func TestCheckEnvViolation(t *testing.T) {
	code, out, _ := runCheckEnv(t, "test/CheckEnvNaN-v0", "--steps", "20")
	if code != ExitError {
		t.Errorf("check-env of a NaN env = %d; want %d", code, ExitError)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "error    observation-finite: Step at step 3 (step 3 of episode 1) returned observation[0] = NaN") {
		t.Errorf("stdout does not start with the NaN problem on one line:\n%s", out)
	}
	if !strings.Contains(out, "test/CheckEnvNaN-v0: 1 error(s)") {
		t.Errorf("stdout lacks the summary:\n%s", out)
	}
}

func TestCheckEnvUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"NoSuchEnv-v0"},
		{"CartPole-v1", "--option", "nokey"},
		{"CartPole-v1", "--option", "colour=red"}, // CartPole takes no options
		{"CartPole-v1", "--steps", "0"},
		{},
	} {
		code, out, _ := runCheckEnv(t, args...)
		if code != ExitUsage {
			t.Errorf("check-env %v = %d; want %d (stdout %q)", args, code, ExitUsage, out)
		}
	}
}

func TestParseEnvOptions(t *testing.T) {
	got, err := parseEnvOptions([]string{"g=9.81", "max_episode_steps=300", "flag=true", "name=left wall", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	want := envs.Options{"g": 9.81, "max_episode_steps": 300, "flag": true, "name": "left wall", "empty": ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseEnvOptions = %#v; want %#v", got, want)
	}
	if _, err := parseEnvOptions([]string{"x=[1, 2]"}); err == nil {
		t.Error("parseEnvOptions accepted a list value")
	}
}
