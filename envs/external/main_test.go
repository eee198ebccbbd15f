package external

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// helperEnv makes the test binary an env server (the helper-process
// pattern): with RLGO_TEST_SERVE_ENV=ID it serves that registered env on
// $RLGO_ENV_SOCKET, $RLGO_ENV_NUM_ENVS of them, as `rltrain serve-env`
// would, so supervisor tests need no Python.
const helperEnv = "RLGO_TEST_SERVE_ENV"

func TestMain(m *testing.M) {
	if id := os.Getenv(helperEnv); id != "" {
		os.Exit(serveHelper(id))
	}
	os.Exit(m.Run())
}

func serveHelper(id string) int {
	// RLGO_TEST_SERVER_PROCS sets the helper server's GOMAXPROCS
	// (BenchmarkStep's go rows, docs/benchmarks.md).
	if p, err := strconv.Atoi(os.Getenv("RLGO_TEST_SERVER_PROCS")); err == nil && p > 0 {
		runtime.GOMAXPROCS(p)
	}
	n, err := NumEnvsFromEnv(1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	lis, err := Listen("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := WatchParent(context.Background())
	defer cancel()
	fmt.Fprintf(os.Stderr, "helper serving %s (%d envs)\n", id, n)
	if err := ServeRegistered(ctx, lis, id, nil, nil, n, ServeOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// goHelperCommand is the command and environment that serve id from this
// test binary.
func goHelperCommand(t testing.TB, id string) (cmd, env []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^$"}, []string{helperEnv + "=" + id}
}
