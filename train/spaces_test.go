package train

import (
	"sync/atomic"
	"testing"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train/config"
)

// countingMade counts the envs of rlgo-test/CountingCartPole-v0 made.
var countingMade atomic.Int64

func init() {
	envs.Register(envs.Spec{
		ID:              "rlgo-test/CountingCartPole-v0",
		MaxEpisodeSteps: 500,
		New: func(envs.Options) (envs.Env, error) {
			countingMade.Add(1)
			return classic.NewCartPole(nil)
		},
	})
}

// TestAlgorithmReusesCheckedSpaces: NewAlgorithm makes one env to check
// the config, and the algorithm takes its spaces from that check
// (Setup.KnownSpaces) instead of making another; with an external env
// every env made is a server process started. The rest are the workers'.
func TestAlgorithmReusesCheckedSpaces(t *testing.T) {
	for _, algo := range []string{"ppo", "dqn"} {
		cfg, err := config.Parse("f.yaml", []byte("algorithm: "+algo+"\nenv: {id: rlgo-test/CountingCartPole-v0}\nrollout: {workers: 2, envs_per_worker: 3, fragment_length: 8}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		countingMade.Store(0)
		a, err := NewAlgorithm(&cfg.Config, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		if got, want := countingMade.Load(), int64(1+2*3); got != want {
			t.Errorf("%s: NewAlgorithm made %d envs; want %d (one to check the config, 2 workers × 3)", algo, got, want)
		}
	}
}
