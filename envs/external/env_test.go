package external

import (
	"context"
	"testing"

	"github.com/rlgo/rlgo/envs"
	_ "github.com/rlgo/rlgo/envs/classic"
)

// TestEnvPassesTheChecker serves CartPole-v1 from a Go server in this
// process and runs envs.Check (what rltrain check-env does) on one env of
// it through Env.
func TestEnvPassesTheChecker(t *testing.T) {
	addr := serveGo(t, "CartPole-v1", 1, ServeOptions{})
	e, err := OpenEnv(context.Background(), Config{Address: addr}, Options{EnvID: "CartPole-v1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rep := envs.Check(e, envs.CheckSteps(2000), envs.CheckSeed(3))
	if !rep.OK() {
		t.Fatalf("check-env on the bridged CartPole: %+v", rep)
	}
}
