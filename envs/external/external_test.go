package external

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
)

// TestGoServerMatchesVectorEnv: the Go client and the Go server over a
// Unix socket give CartPole-v1's transitions exactly as an in-process
// envs.VectorEnv from the same seed, auto-resets and time limits included,
// over every Step transport, and a server of the first protocol revision
// (no capabilities) is stepped with unary calls.
func TestGoServerMatchesVectorEnv(t *testing.T) {
	tests := []struct {
		name      string
		serve     ServeOptions
		transport Transport
		want      Transport // StepTransport()
	}{
		{"auto", ServeOptions{}, TransportAuto, TransportSocket},
		{"socket", ServeOptions{}, TransportSocket, TransportSocket},
		{"stream", ServeOptions{}, TransportStream, TransportStream},
		{"unary", ServeOptions{}, TransportUnary, TransportUnary},
		{"no socket", ServeOptions{NoStepSocket: true}, TransportAuto, TransportStream},
		{"old server", ServeOptions{NoStepStream: true, NoStepSocket: true}, TransportAuto, TransportUnary},
		{"old server, stream asked", ServeOptions{NoStepStream: true, NoStepSocket: true}, TransportStream, TransportUnary},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/envs=%d", tt.name, n), func(t *testing.T) { testGoServer(t, n, tt.serve, tt.transport, tt.want) })
		}
	}
}

func testGoServer(t *testing.T, n int, serve ServeOptions, transport, wantTransport Transport) {
	{
		addr := serveGo(t, "CartPole-v1", n, serve)
		ctx := context.Background()
		got, err := Dial(ctx, addr, Options{NumEnvs: n, CallTimeout: 10 * time.Second, StartTimeout: 10 * time.Second, Transport: transport})
		if err != nil {
			t.Fatal(err)
		}
		if got.StepTransport() != wantTransport {
			t.Errorf("StepTransport() = %v; want %v", got.StepTransport(), wantTransport)
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

// TestLongSocketPath: a gRPC socket path too long for a step socket beside
// it (a socket address holds 108 bytes; the step socket adds ".step")
// still serves, and the client steps over StepStream.
func TestLongSocketPath(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "rlgo") // short, whatever $TMPDIR is
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	name := strings.Repeat("d", 104-len(dir)-1-len(".sock")) + ".sock" // a 104-byte path
	sock := filepath.Join(dir, name)
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen on a %d-byte path: %v", len(sock), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeRegistered(ctx, lis, "CartPole-v1", nil, nil, 2, ServeOptions{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeRegistered: %v", err)
		}
	}()
	v, err := Dial(ctx, "unix://"+sock, Options{NumEnvs: 2, StartTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if v.Spec().StepSocket != "" || v.StepTransport() != TransportStream {
		t.Errorf("StepSocket %q, StepTransport() = %v; want none and stream", v.Spec().StepSocket, v.StepTransport())
	}
	want := nativeVector(t, "CartPole-v1", 2)
	if err := want.Reset(3); err != nil {
		t.Fatal(err)
	}
	if err := v.Reset(3); err != nil {
		t.Fatal(err)
	}
	compareVectors(t, want, v, 2, 200, 1)
}

// TestStepContextCancelled: a Step whose context is already cancelled
// fails with codes.Canceled on every transport, restarts nothing, and the
// VectorEnv steps normally after a Reset.
func TestStepContextCancelled(t *testing.T) {
	for _, tr := range []Transport{TransportSocket, TransportStream, TransportUnary} {
		t.Run(tr.String(), func(t *testing.T) {
			v, err := Dial(context.Background(), serveGo(t, "CartPole-v1", 2, ServeOptions{}), Options{NumEnvs: 2, StartTimeout: 10 * time.Second, Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if err := v.Reset(1); err != nil {
				t.Fatal(err)
			}
			acts := make([]envs.Action, 2)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			// First with no connection or stream open yet, then with one.
			for round := range 2 {
				_, err = v.StepContext(ctx, acts)
				var ce *CallError
				if !errors.As(err, &ce) || status.Code(ce.Err) != codes.Canceled {
					t.Fatalf("round %d: StepContext(cancelled) error = %v; want a *CallError with code Canceled", round, err)
				}
				if v.Restarts() != 0 {
					t.Errorf("Restarts() = %d; want 0", v.Restarts())
				}
				if err := v.Reset(1); err != nil {
					t.Fatal(err)
				}
				if _, err := v.Step(acts); err != nil {
					t.Fatalf("round %d: Step after the cancelled one: %v", round, err)
				}
			}
			for k := range 20 {
				if _, err := v.Step(acts); err != nil {
					t.Fatalf("step %d after the cancelled one: %v", k, err)
				}
			}
		})
	}
}
