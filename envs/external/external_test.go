package external

import (
	"context"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
)

// TestGoServerMatchesVectorEnv: the Go client and the Go server over a
// Unix socket give CartPole-v1's transitions exactly as an in-process
// envs.VectorEnv from the same seed, auto-resets and time limits included.
func TestGoServerMatchesVectorEnv(t *testing.T) {
	for _, n := range []int{1, 5} {
		addr := serveGo(t, "CartPole-v1", n, ServeOptions{})
		ctx := context.Background()
		got, err := Dial(ctx, addr, Options{NumEnvs: n, CallTimeout: 10 * time.Second, StartTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		spec := got.Spec()
		if spec.ID != "CartPole-v1" || spec.MaxEpisodeSteps != 500 || !spec.HasThreshold || spec.RewardThreshold != 475 || spec.NumEnvs != n {
			t.Errorf("Spec() = %+v; want CartPole-v1, 500 steps, threshold 475, %d envs", spec, n)
		}
		if got.ActionSpace() != (envs.Discrete{N: 2}) || got.ObsDim() != 4 || got.Len() != n {
			t.Errorf("spaces = %v, %d, %d; want Discrete(2), 4, %d", got.ActionSpace(), got.ObsDim(), got.Len(), n)
		}
		want := nativeVector(t, "CartPole-v1", n)
		const seed = 42
		if err := want.Reset(seed); err != nil {
			t.Fatal(err)
		}
		if err := got.Reset(seed); err != nil {
			t.Fatal(err)
		}
		eps, trunc := compareVectors(t, want, got, n, 3000, 1)
		if trunc == 0 || (n > 1 && eps < 50) {
			t.Errorf("%d episodes ended in 3000 steps of %d envs, %d truncated: want 50 or more and some truncated", eps, n, trunc)
		}
		if err := got.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if got.Restarts() != 0 {
			t.Errorf("Restarts() = %d; want 0", got.Restarts())
		}
	}
}
