package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/rollout/remote"
)

// TestTokenFromEnvIsTrimmed is issue 13's item 6: $RLGO_TOKEN is trimmed
// like the token file, and one of white space only is no token (a
// non-loopback learner then refuses to start without one).
func TestTokenFromEnvIsTrimmed(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"   ", ""},
		{"\t\n", ""},
		{"  s3cret \n", "s3cret"},
		{"s3cret", "s3cret"},
	} {
		t.Setenv(remote.TokenEnv, tc.env)
		var f secFlags
		if got, err := f.resolveToken(); err != nil || got != tc.want {
			t.Errorf("%s=%q: token %q, %v; want %q", remote.TokenEnv, tc.env, got, err, tc.want)
		}
	}
	t.Setenv(remote.TokenEnv, "   ")
	lf := learnerFlags{listen: "0.0.0.0:0", minWorkers: 1}
	if _, err := lf.config(&strings.Builder{}); err == nil || !strings.Contains(err.Error(), "needs a token") {
		t.Errorf("learner on 0.0.0.0 with %s of spaces: %v; want: needs a token", remote.TokenEnv, err)
	}
}

// TestWorkerConnectTimeout is issue 13's item 5 through the CLI: rltrain
// worker against a learner that is not there exits 1 after
// --connect-timeout, naming the cause, having logged it while retrying.
func TestWorkerConnectTimeout(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	start := time.Now()
	code, _, stderr := run(t, context.Background(), "worker", "--learner", addr, "--connect-timeout", "1s")
	took := time.Since(start)
	if code != 1 || !strings.Contains(stderr, "could not register") || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("rltrain worker = exit %d, stderr:\n%s\nwant exit 1 naming the cause", code, stderr)
	}
	if !strings.Contains(stderr, "cannot reach the learner") {
		t.Errorf("no warning while retrying:\n%s", stderr)
	}
	if took > 6*time.Second {
		t.Errorf("gave up after %s; want about 1 s", took)
	}
}
