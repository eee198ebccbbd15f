package external

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
)

// fakeServer answers with a valid CartPole-like spec and replies of n
// envs, which the test then breaks.
type fakeServer struct {
	n        int
	specFix  func(*specReply)
	stepFix  func(*stepReply)
	resetFix func(*resetReply)
	ended    int // envs 0..ended-1 end their episode on every step
}

func (f *fakeServer) rpcSpec(context.Context, *specRequest) (*specReply, error) {
	box := envs.UniformBox(4, -10, 10)
	r, err := encodeSpec(&Spec{ID: "Fake-v0", NumEnvs: f.n, Observation: box, Action: envs.Discrete{N: 2}})
	if err != nil {
		return nil, err
	}
	if f.specFix != nil {
		f.specFix(r)
	}
	return r, nil
}

func (f *fakeServer) rpcReset(context.Context, *resetRequest) (*resetReply, error) {
	r := &resetReply{Obs: putF32(nil, make([]float32, 4*f.n))}
	if f.resetFix != nil {
		f.resetFix(r)
	}
	return r, nil
}

func (f *fakeServer) rpcStep(context.Context, *stepRequest) (*stepReply, error) {
	term := make([]bool, f.n)
	for i := range f.ended {
		term[i] = true
	}
	r := &stepReply{
		Obs:        putF32(nil, make([]float32, 4*f.n)),
		Rewards:    putF64(nil, make([]float64, f.n)),
		Terminated: putFlags(nil, term),
		Truncated:  putFlags(nil, make([]bool, f.n)),
		FinalObs:   putF32(nil, make([]float32, 4*f.ended)),
	}
	if f.stepFix != nil {
		f.stepFix(r)
	}
	return r, nil
}

func (f *fakeServer) requestBounds() wire.Limits { return requestLimits(f.n, 1) }

func (f *fakeServer) rpcClose(context.Context, *closeRequest) (*closeReply, error) {
	return &closeReply{}, nil
}

func startFake(t *testing.T, f *fakeServer) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "fake.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.ForceServerCodec(codec{}))
	g.RegisterService(&serviceDesc, f)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return "unix://" + sock
}

// TestMalformedReplies: every malformed reply is an error naming the env
// id and the field (and, for values, the env), never a panic or a
// silently wrong step.
func TestMalformedReplies(t *testing.T) {
	nan := math.Float32frombits(0x7fc00000)
	tests := []struct {
		name     string
		f        fakeServer
		method   string // the call that must fail
		want     []string
		nonFinit bool
	}{
		{"spec num_envs", fakeServer{n: 2, specFix: func(r *specReply) { r.NumEnvs = 0 }}, "spec", []string{"Fake", "num_envs"}, false},
		{"spec box bounds", fakeServer{n: 2, specFix: func(r *specReply) { r.ObservationSpace.Low = r.ObservationSpace.Low[:8] }}, "spec", []string{"observation_space", "low has 8 bytes"}, false},
		{"spec low > high", fakeServer{n: 2, specFix: func(r *specReply) {
			r.ObservationSpace.Low, r.ObservationSpace.High = r.ObservationSpace.High, r.ObservationSpace.Low
		}}, "spec", []string{"observation_space", "low <= high"}, false},
		{"spec kind", fakeServer{n: 2, specFix: func(r *specReply) { r.ActionSpace.Kind = "multi_discrete" }}, "spec", []string{"action_space.kind", "multi_discrete"}, false},
		{"spec discrete obs", fakeServer{n: 2, specFix: func(r *specReply) { r.ObservationSpace = spaceMsg{Kind: kindDiscrete, N: 3} }}, "spec", []string{"observation_space", "want a box"}, false},
		{"spec protocol", fakeServer{n: 2, specFix: func(r *specReply) { r.Protocol = 2 }}, "spec", []string{"protocol = 2"}, false},
		{"reset obs short", fakeServer{n: 2, resetFix: func(r *resetReply) { r.Obs = r.Obs[:12] }}, "reset", []string{"Fake-v0", "Reset", "field obs", "12 bytes"}, false},
		{"reset obs NaN", fakeServer{n: 2, resetFix: func(r *resetReply) { r.Obs = putF32(nil, []float32{0, 0, 0, 0, 0, nan, 0, 0}) }}, "reset", []string{"Fake-v0", "field obs", "env 1 observation[1] = NaN"}, true},
		{"step obs long", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Obs = append(r.Obs, 0, 0, 0, 0) }}, "step", []string{"Fake-v0", "Step", "field obs", "36 bytes, want 32"}, false},
		{"step obs NaN", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Obs = putF32(nil, []float32{0, 0, nan, 0, 0, 0, 0, 0}) }}, "step", []string{"field obs", "env 0 observation[2] = NaN"}, true},
		{"step obs Inf", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Obs = putF32(nil, []float32{0, 0, 0, 0, 0, 0, 0, float32(math.Inf(1))}) }}, "step", []string{"field obs", "env 1 observation[3] = +Inf"}, true},
		{"step rewards short", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Rewards = r.Rewards[:8] }}, "step", []string{"field rewards", "8 bytes, want 16"}, false},
		{"step reward NaN", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Rewards = putF64(nil, []float64{0, math.NaN()}) }}, "step", []string{"field rewards", "env 1 reward = NaN"}, true},
		{"step rewards as float32", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Rewards = putF32(nil, []float32{1, 1}) }}, "step", []string{"field rewards", "8 bytes, want 16 (2 float64)"}, false},
		{"step terminated flag", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Terminated[1] = 2 }}, "step", []string{"env 1", "terminated = 2"}, false},
		{"step truncated missing", fakeServer{n: 2, stepFix: func(r *stepReply) { r.Truncated = nil }}, "step", []string{"field truncated", "0 bytes"}, false},
		{"step final_obs missing", fakeServer{n: 2, ended: 1, stepFix: func(r *stepReply) { r.FinalObs = nil }}, "step", []string{"field final_obs", "want 16 (1 ended envs"}, false},
		{"step final_obs NaN", fakeServer{n: 2, ended: 1, stepFix: func(r *stepReply) { r.FinalObs = putF32(nil, []float32{nan, 0, 0, 0}) }}, "step", []string{"field final_obs", "env 0 observation[0] = NaN"}, true},
		{"step infos length", fakeServer{n: 2, stepFix: func(r *stepReply) { x := 1.0; r.Infos = map[string][]*float64{"score": {&x}} }}, "step", []string{`infos["score"]`, "1 values, want 2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startFake(t, &tt.f)
			ctx := context.Background()
			v, err := Dial(ctx, addr, Options{NumEnvs: tt.f.n, CallTimeout: 5 * time.Second, StartTimeout: 5 * time.Second})
			if tt.method == "spec" {
				checkErr(t, err, tt.want, tt.nonFinit)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			err = v.Reset(1)
			if tt.method == "reset" {
				checkErr(t, err, tt.want, tt.nonFinit)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Step(make([]envs.Action, tt.f.n))
			checkErr(t, err, tt.want, tt.nonFinit)
			if v.Restarts() != 0 {
				t.Errorf("Restarts() = %d after a malformed reply; want 0 (a malformed reply is an error, not a crash)", v.Restarts())
			}
		})
	}
}

func checkErr(t *testing.T, err error, want []string, nonFinite bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	var re *ReplyError
	if !errors.As(err, &re) {
		t.Errorf("error %v is not a *ReplyError", err)
	}
	var ee *envs.EnvError
	if nonFinite && (!errors.Is(err, envs.ErrNonFinite) || !errors.As(err, &ee)) {
		t.Errorf("error %v: want an *envs.EnvError wrapping envs.ErrNonFinite, as envs.VectorEnv gives", err)
	}
}

// TestInfosAndEpisodeStats: numeric infos reach VectorStep.Infos, and a
// server's own episode record (episode.r, episode.l) replaces the sums.
func TestInfosAndEpisodeStats(t *testing.T) {
	f := &fakeServer{n: 2, ended: 1, stepFix: func(r *stepReply) {
		score, ret, length := 3.5, 42.0, 7.0
		r.Rewards = putF64(nil, []float64{1, 2})
		r.Infos = map[string][]*float64{"score": {nil, &score}, InfoEpisodeReturn: {&ret, nil}, InfoEpisodeLength: {&length, nil}}
	}}
	v, err := Dial(context.Background(), startFake(t, f), Options{NumEnvs: 2, StartTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Reset(1); err != nil {
		t.Fatal(err)
	}
	s, err := v.Step(make([]envs.Action, 2))
	if err != nil {
		t.Fatal(err)
	}
	if s.Infos[1]["score"] != 3.5 || s.Infos[0]["score"] != nil {
		t.Errorf("Infos = %v; want score 3.5 for env 1 only", s.Infos)
	}
	if len(s.Episodes) != 1 || s.Episodes[0] != (envs.Episode{EnvIndex: 0, Return: 42, Length: 7, Terminated: true}) {
		t.Errorf("Episodes = %+v; want env 0's record: return 42, length 7", s.Episodes)
	}
	if _, err := v.Step([]envs.Action{envs.DiscreteAction(2), envs.DiscreteAction(0)}); !errors.Is(err, envs.ErrInvalidAction) {
		t.Errorf("Step(action 2 of Discrete(2)) error = %v; want ErrInvalidAction", err)
	}
}

// TestStepSocketMalformed: what a step socket answers is held to the same
// rules as a unary reply: a frame longer than the reply bound is refused
// before it is read, a frame that is not a bounded msgpack message or has
// wrong fields is a *ReplyError, and a failed step's {code, message} is
// the server's error (a *CallError with that code), never a restart.
func TestStepSocketMalformed(t *testing.T) {
	const n = 2
	valid := func() []byte {
		var f fakeServer
		f.n = n
		r, _ := f.rpcStep(context.Background(), nil)
		b, err := wire.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	frame := func(body []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	marshal := func(v any) []byte {
		b, err := wire.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name  string
		reply []byte // what the socket answers to the first request
		want  []string
		code  codes.Code // for a *CallError; OK: want a *ReplyError
	}{
		{"valid", frame(valid()), nil, codes.OK},
		{"frame too long", binary.LittleEndian.AppendUint32(nil, 1<<30), []string{"Fake-v0", "step socket", "reply frame of 1073741824 bytes, more than"}, codes.OK},
		{"not msgpack", frame([]byte{0xc1, 0xc1, 0xc1}), []string{"Fake-v0", "step socket"}, codes.OK},
		{"array of a billion", frame([]byte{0x81, 0xa3, 'o', 'b', 's', 0xdd, 0x3b, 0x9a, 0xca, 0x00}), []string{"Fake-v0", "step socket"}, codes.OK},
		{"obs short", frame(marshal(&stepReply{Obs: make([]byte, 12), Rewards: make([]byte, 16), Terminated: make([]byte, 2), Truncated: make([]byte, 2)})), []string{"Fake-v0", "field obs", "12 bytes"}, codes.OK},
		{"error reply", frame(marshal(&stepReply{Code: int(codes.Internal), Message: "env 1 raised ValueError"})), []string{"Fake-v0", "env 1 raised ValueError"}, codes.Internal},
		{"invalid argument", frame(marshal(&stepReply{Code: int(codes.InvalidArgument), Message: "bad actions"})), []string{"bad actions"}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "step.sock")
			lis, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer lis.Close()
			go func() {
				c, err := lis.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				if _, err := io.ReadFull(c, make([]byte, binary.LittleEndian.Uint32(hdr[:]))); err != nil {
					return
				}
				c.Write(tt.reply)
				io.Copy(io.Discard, c) // until the client hangs up
			}()
			f := &fakeServer{n: n, specFix: func(r *specReply) { r.Capabilities, r.StepSocket = []string{CapStepSocket}, path }}
			v, err := Dial(context.Background(), startFake(t, f), Options{NumEnvs: n, CallTimeout: 5 * time.Second, StartTimeout: 5 * time.Second, MaxRestarts: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if v.StepTransport() != TransportSocket {
				t.Fatalf("StepTransport() = %v; want socket", v.StepTransport())
			}
			if err := v.Reset(1); err != nil {
				t.Fatal(err)
			}
			_, err = v.Step(make([]envs.Action, n))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Step: %v", err)
				}
				return
			}
			if tt.code == codes.OK {
				checkErr(t, err, tt.want, false)
				return
			}
			var ce *CallError
			if !errors.As(err, &ce) || status.Code(ce.Err) != tt.code {
				t.Fatalf("Step error = %v; want a *CallError with code %v", err, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
