package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestStrictValues (issue 13, config strictness): fractions for whole-
// number keys, a section of another algorithm, over-long strings and a
// syntax error are each one *Error naming the file, line and key.
func TestStrictValues(t *testing.T) {
	const base = "name: x\nenv: {id: CartPole-v1}\n"
	tests := []struct {
		name string
		yaml string
		sets []string
		want string // the whole message's prefix
	}{
		{"ppo.epochs", base + "ppo:\n  epochs: 4.5\n", nil, "f.yaml:4: ppo.epochs: want a whole number, got 4.5"},
		{"rollout.workers", base + "rollout: {workers: 2.7}\n", nil, "f.yaml:3: rollout.workers: want a whole number, got 2.7"},
		{"seed", base + "seed: 1.5\n", nil, "f.yaml:3: seed: want a whole number, got 1.5"},
		{"model.hidden", base + "model:\n  hidden: [64.5, 64]\n", nil, "f.yaml:4: model.hidden[0]: want a whole number, got 64.5"},
		{"dqn section", base + "algorithm: dqn\nppo: {epochs: 4}\n", nil, `f.yaml:4: ppo: unknown key "ppo"`},
		{"ppo section", base + "dqn: {batch_size: 32}\n", nil, `f.yaml:3: dqn: unknown key "dqn"`},
		{"--set fraction", base, []string{"ppo.epochs=4.5"}, "--set ppo.epochs=4.5: ppo.epochs: want a whole number, got 4.5"},
		{"--set hidden", base, []string{"model.hidden=[64, 1.5]"}, "--set model.hidden=[64, 1.5]: model.hidden[1]: want a whole number, got 1.5"},
		{"long name", "name: " + strings.Repeat("n", 200) + "\nenv: {id: CartPole-v1}\n", nil, "f.yaml:1: name: 200 bytes long; the limit is 128"},
		{"long string", base + "env: {id: " + strings.Repeat("e", MaxStringBytes+1) + "}\n", nil, "f.yaml:3: env.id: 4097 bytes long; the limit is 4096"},
		{"unclosed flow mapping on line 2", "name: x\nenv: {id: CartPole-v1\nseed: 2\n", nil, "f.yaml:2: did not find expected ',' or '}'"},
		{"unclosed flow sequence on line 3", base + "model: {hidden: [64, 64}\n", nil, "f.yaml:3: did not find expected ',' or ']'"},
		{"stray entry on line 2", "name: x\n- a\n", nil, "f.yaml:2: did not find expected key"},
	}
	for _, tt := range tests {
		_, err := Parse("f.yaml", []byte(tt.yaml), tt.sets)
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: %v; want a *config.Error starting %q", tt.name, err, tt.want)
		}
	}
	// Whole numbers written as floats (1e6) are fine.
	l, err := Parse("f.yaml", []byte(base+"stop: {env_steps: 1e6}\nppo: {epochs: 4.0}\n"), []string{"seed=2e0"})
	if err != nil || l.Stop.EnvSteps != 1_000_000 || l.Seed != 2 {
		t.Errorf("whole floats: %v, %+v", err, l)
	}
}

// TestConfigSizeCap: a config file over MaxFileBytes is refused before
// it is parsed.
func TestConfigSizeCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	big := "name: x\nenv: {id: CartPole-v1}\n# " + strings.Repeat("x", MaxFileBytes) + "\n"
	if err := os.WriteFile(p, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, nil)
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "config is over 1048576 bytes") {
		t.Errorf("Load of a %d-byte config = %v; want the size cap", len(big), err)
	}
}

// TestConfigDepthCap: a config nested deeper than MaxDepth is refused
// with the line, before any walk builds its keys' dotted paths: a 45 KB
// file nested 9,000 deep allocated ~90 MB in the key walk before the cap
// (its walk copies each ancestor's path into every key). The bound on
// bytes allocated makes a walk before the check fail the test.
func TestConfigDepthCap(t *testing.T) {
	for _, tt := range []struct{ name, open, close string }{
		{"mappings", "{a: ", "}"},
		{"lists", "[", "]"},
	} {
		yaml := "name: x\nenv: {id: CartPole-v1}\nfoo: " + strings.Repeat(tt.open, 9000) + "1" + strings.Repeat(tt.close, 9000) + "\n"
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Parse("f.yaml", []byte(yaml), nil)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.HasPrefix(err.Error(), "f.yaml:3: foo") || !strings.Contains(err.Error(), "nested more than 64 levels deep") {
			t.Errorf("%s: %v; want f.yaml:3: foo…: nested more than 64 levels deep", tt.name, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
			t.Errorf("%s: parsing a %d-byte config allocated %d MB; want under 32", tt.name, len(yaml), grew>>20)
		}
	}
	// 64 levels are fine for the walk (the key is unknown, not too deep).
	_, err := Parse("f.yaml", []byte("name: x\nfoo: "+strings.Repeat("{a: ", 63)+"1"+strings.Repeat("}", 63)+"\n"), nil)
	if err == nil || strings.Contains(err.Error(), "levels deep") {
		t.Errorf("63 levels: %v; want an unknown-key error, not the depth cap", err)
	}
}

// TestShippedConfigComments (issue 13): the configs users copy say what
// they do and what they reach; they hold no notes about issues or
// commits of this project's history.
func TestShippedConfigComments(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	bad := regexp.MustCompile(`(?i)\bissue\b|\bcommit\b|\b[0-9a-f]{7,40}\b`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			_, comment, ok := strings.Cut(line, "#")
			if ok && bad.MatchString(comment) {
				t.Errorf("%s:%d: %q: a note about the project's history, not about the config", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
