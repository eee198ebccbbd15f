package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvConfigErrorsBeforeRunDir (issue 13, config strictness): DQN on
// a continuous-action env and an unknown env option exit 2 with
// file:line, name what the env takes, and leave no run directory.
func TestEnvConfigErrorsBeforeRunDir(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"name: d\nalgorithm: dqn\nenv:\n  id: Pendulum-v1\n", "c.yaml:2: algorithm: dqn cannot act in Pendulum-v1"},
		{"name: o\nenv:\n  id: CartPole-v1\n  options:\n    gravity: 3\n", "c.yaml:5: env.options.gravity: unknown option gravity: CartPole-v1 takes none"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "c.yaml")
		os.WriteFile(cfg, []byte(tt.yaml), 0o644)
		out := filepath.Join(dir, "run")
		code, _, stderr := run(t, context.Background(), "train", cfg, "--out", out)
		if code != ExitUsage || !strings.Contains(stderr, filepath.Join(dir, tt.want)) {
			t.Errorf("train %q = %d, %q; want 2 and %q", tt.yaml, code, stderr, tt.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("train %q made its run directory", tt.yaml)
		}
	}
}
