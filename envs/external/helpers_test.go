package external

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
)

// vectorStepper is what the equality check needs of both vector envs.
type vectorStepper interface {
	Obs() []float32
	Step([]envs.Action) (*envs.VectorStep, error)
}

// serveGo serves n envs of id on a Unix socket in dir until the test ends
// and returns the socket's address.
func serveGo(t testing.TB, id string, n int, opts ServeOptions) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "env.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeRegistered(ctx, lis, id, nil, nil, n, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeRegistered: %v", err)
		}
	})
	return "unix://" + sock
}

// nativeVector makes n envs of id with envs.Make in an envs.VectorEnv.
func nativeVector(t testing.TB, id string, n int) *envs.VectorEnv {
	t.Helper()
	list := make([]envs.Env, n)
	for i := range list {
		e, err := envs.Make(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		list[i] = e
	}
	v, err := envs.NewVectorEnv(list)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sameObs reports whether a and b are equal bit for bit.
func sameObs(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// balance is CartPole's policy for the even envs: push the way the pole
// falls (it often lasts the 500 steps of the time limit); odd envs act at
// random.
func balance(obs []float32, i, d int, rng *rand.Rand) int {
	if i%2 == 1 {
		return rng.IntN(2)
	}
	o := obs[i*d : (i+1)*d]
	if o[2]+0.5*o[3] > 0 {
		return 1
	}
	return 0
}

// compareVectors steps want and got with the same CartPole actions
// (balance) for steps steps and fails at the first difference in
// observations, rewards, flags, final observations or episodes. It returns
// how many episodes ended, and how many of them truncated.
func compareVectors(t *testing.T, want, got vectorStepper, n, steps int, seed uint64) (episodes, truncated int) {
	t.Helper()
	rng := envs.NewRand(seed, 7)
	acts := make([]envs.Action, n)
	if !sameObs(got.Obs(), want.Obs()) {
		t.Fatalf("after Reset: Obs = %v; want %v", got.Obs(), want.Obs())
	}
	for k := 1; k <= steps; k++ {
		for i := range acts {
			acts[i] = envs.DiscreteAction(balance(want.Obs(), i, 4, rng))
		}
		ws, err := want.Step(acts)
		if err != nil {
			t.Fatalf("step %d: native Step: %v", k, err)
		}
		gs, err := got.Step(acts)
		if err != nil {
			t.Fatalf("step %d: bridged Step: %v", k, err)
		}
		for i := range n {
			if gs.Rewards[i] != ws.Rewards[i] || gs.Terminated[i] != ws.Terminated[i] || gs.Truncated[i] != ws.Truncated[i] {
				t.Fatalf("step %d env %d: reward, terminated, truncated = %v, %v, %v; want %v, %v, %v",
					k, i, gs.Rewards[i], gs.Terminated[i], gs.Truncated[i], ws.Rewards[i], ws.Terminated[i], ws.Truncated[i])
			}
			if (gs.FinalObs[i] == nil) != (ws.FinalObs[i] == nil) || !sameObs(gs.FinalObs[i], ws.FinalObs[i]) {
				t.Fatalf("step %d env %d: FinalObs = %v; want %v", k, i, gs.FinalObs[i], ws.FinalObs[i])
			}
		}
		if !sameObs(got.Obs(), want.Obs()) {
			t.Fatalf("step %d: Obs = %v; want %v", k, got.Obs(), want.Obs())
		}
		if len(gs.Episodes) != len(ws.Episodes) {
			t.Fatalf("step %d: %d episodes ended; want %d", k, len(gs.Episodes), len(ws.Episodes))
		}
		for j := range ws.Episodes {
			if gs.Episodes[j] != ws.Episodes[j] {
				t.Fatalf("step %d: episode %+v; want %+v", k, gs.Episodes[j], ws.Episodes[j])
			}
			if ws.Episodes[j].Truncated {
				truncated++
			}
		}
		episodes += len(ws.Episodes)
	}
	return episodes, truncated
}
