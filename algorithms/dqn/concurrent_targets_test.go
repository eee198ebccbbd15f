package dqn

import (
	"runtime"
	"slices"
	"testing"

	"github.com/rlgo/rlgo/policy"
)

// TestConcurrentTargetsSameBits: gradientStep computes the TD targets on
// other goroutines while the graph runs the Q-network's forward pass
// (GOMAXPROCS > 1), and the loss waits for them. Forty gradient steps
// with and without that overlap, from the same state, must leave the
// same weights bit for bit, for double and vanilla DQN, with and without
// PER (whose importance weights the loss also reads). A loss that read
// the targets before they were written (a wait on the wrong copy of the
// loss graph did exactly that) trains on the previous step's targets.
func TestConcurrentTargetsSameBits(t *testing.T) {
	for _, tc := range []struct {
		name        string
		double, per bool
	}{
		{"double dueling", true, false},
		{"vanilla dueling", false, false},
		{"double dueling PER", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(procs int) *policy.Weights {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				cfg, setup := zooConfig(3)
				cfg.BatchSize = 64
				cfg.Double = tc.double
				cfg.Prioritized = tc.per
				setup.Model.Hidden = []int{32, 32}
				d := collected(t, cfg, setup, 1000)
				defer d.Close()
				var st stepStats
				for i := range 40 {
					if err := d.gradientStep(1e-3, 0.4, &st); err != nil {
						t.Fatal(err)
					}
					if i%4 == 3 {
						d.updateTarget()
					}
				}
				return d.Weights().Clone()
			}
			seq, conc := run(1), run(2)
			for i, s := range seq.Tensors {
				if !slices.Equal(s.Data, conc.Tensors[i].Data) {
					t.Fatalf("%s differs after 40 steps with concurrent TD targets", s.Name)
				}
			}
		})
	}
}
