package train

import (
	"errors"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/train/config"
)

// TestEnvErrorsAreConfigErrors (issue 13, config strictness): what only
// making the env shows — DQN with continuous actions, an unknown env
// option — is a *config.Error naming the key, from NewAlgorithm, which
// runs before Run makes a run directory; an unknown option's message
// lists what the env takes, or says none.
func TestEnvErrorsAreConfigErrors(t *testing.T) {
	tests := []struct {
		yaml, key, msg string
	}{
		{"algorithm: dqn\nenv: {id: Pendulum-v1}\n", "algorithm", "dqn cannot act in Pendulum-v1: action space Box"},
		{"env: {id: CartPole-v1, options: {gravity: 3}}\n", "env.options.gravity", "unknown option gravity: CartPole-v1 takes none (only max_episode_steps"},
		{"env: {id: Pendulum-v1, options: {gravty: 3}}\n", "env.options.gravty", "unknown option gravty: Pendulum-v1 takes g (and max_episode_steps"},
	}
	for _, tt := range tests {
		cfg, err := config.Parse("f.yaml", []byte(tt.yaml), nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.yaml, err)
		}
		algo, err := NewAlgorithm(&cfg.Config, nil, nil)
		if algo != nil {
			algo.Close()
		}
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(ce.Msg, tt.msg) {
			t.Errorf("%s: NewAlgorithm = %v; want a *config.Error for %s saying %q", tt.yaml, err, tt.key, tt.msg)
		}
		if w := cfg.Where(ce.Key); !strings.HasPrefix(w, "f.yaml:") {
			t.Errorf("%s: %s is at %q; want f.yaml:LINE", tt.yaml, ce.Key, w)
		}
	}
}
