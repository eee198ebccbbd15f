package external

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
)

// stubBackend lets a VectorEnv check replies without a server.
type stubBackend struct{}

func (stubBackend) conn() *grpc.ClientConn               { return nil }
func (stubBackend) recover(context.Context, error) error { return nil }
func (stubBackend) alive() bool                          { return true }
func (stubBackend) describe() string                     { return "fuzz" }
func (stubBackend) close() error                         { return nil }

func fuzzVector(n int) *VectorEnv {
	v := &VectorEnv{opts: Options{EnvID: "Fuzz-v0"}.withDefaults(), be: stubBackend{}}
	v.init(&Spec{ID: "Fuzz-v0", NumEnvs: n, Observation: envs.UniformBox(3, -1, 1), Action: envs.Discrete{N: 2}})
	v.didReset = true
	return v
}

func marshal(t testing.TB, v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzSpecReply: any bytes as a Spec reply decode to a checked Spec or an
// error, within specLimits, never a panic or a huge allocation.
func FuzzSpecReply(f *testing.F) {
	r, _ := encodeSpec(&Spec{ID: "X", NumEnvs: 2, Observation: envs.UniformBox(3, -1, 1), Action: envs.Discrete{N: 2}})
	f.Add(marshal(f, r))
	r2, _ := encodeSpec(&Spec{ID: "Y", NumEnvs: 1, Observation: &envs.Box{Low: make([]float32, 6), High: make([]float32, 6), Dims: []int{2, 3}}, Action: envs.UniformBox(2, -1, 1), HasThreshold: true})
	f.Add(marshal(f, r2))
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r specReply
		if err := (codec{}).Unmarshal(b, &r); err != nil {
			return
		}
		s, err := decodeSpec(&r)
		if err != nil {
			return
		}
		if s.Observation.Size() <= 0 || s.NumEnvs <= 0 || s.ActionSize() <= 0 {
			t.Fatalf("decodeSpec accepted %+v", s)
		}
	})
}

// FuzzStepReply: any bytes as a Step reply of 3 envs are applied whole
// or rejected; an accepted one leaves finite observations of the right
// size and a FinalObs for exactly the envs that ended.
func FuzzStepReply(f *testing.F) {
	ok := &stepReply{
		Obs:        putF32(nil, make([]float32, 9)),
		Rewards:    putF64(nil, []float64{1, 0, -1}),
		Terminated: []byte{0, 1, 0},
		Truncated:  []byte{0, 0, 1},
		FinalObs:   putF32(nil, make([]float32, 6)),
	}
	f.Add(marshal(f, ok))
	x := 2.0
	ok.Infos = map[string][]*float64{"a": {&x, nil, &x}}
	f.Add(marshal(f, ok))
	f.Add([]byte{0x81, 0xa3, 'o', 'b', 's', 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		v := fuzzVector(3)
		v.reply.Infos = nil
		if err := (codec{}).Unmarshal(b, &v.reply); err != nil {
			return
		}
		s, err := v.applyStep()
		if err != nil {
			return
		}
		if len(v.Obs()) != 9 {
			t.Fatalf("Obs has %d values", len(v.Obs()))
		}
		for i := range 3 {
			ended := s.Terminated[i] || s.Truncated[i]
			if ended != (s.FinalObs[i] != nil) {
				t.Fatalf("env %d: ended %v but FinalObs %v", i, ended, s.FinalObs[i])
			}
		}
	})
}

// FuzzResetReply: any bytes as a Reset reply of 2 envs.
func FuzzResetReply(f *testing.F) {
	f.Add(marshal(f, &resetReply{Obs: putF32(nil, make([]float32, 6))}))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := resetReply{}
		r.lim = replyLimits(2, 3)
		if err := (codec{}).Unmarshal(b, &r); err != nil {
			return
		}
		v := fuzzVector(2)
		if len(r.Obs) == 4*6 {
			v.checkObs(methodReset, "obs", r.Obs, -1)
		}
	})
}

// FuzzServerRequests: any bytes as a Reset or Step request to the Go
// server of 2 CartPoles are served or refused with a status, never a
// panic.
func FuzzServerRequests(f *testing.F) {
	s1, s2 := uint64(1), uint64(2)
	f.Add(false, marshal(f, &resetRequest{Seeds: []*uint64{&s1, &s2}}))
	f.Add(false, marshal(f, &resetRequest{Seeds: []*uint64{nil, &s2}}))
	f.Add(true, marshal(f, &stepRequest{Actions: []byte{1, 0, 0, 0, 0, 0, 0, 0}}))
	f.Add(true, marshal(f, &stepRequest{Actions: []byte{9, 0, 0, 0, 0, 0, 0, 0x80}}))
	srv := &server{factory: func() (envs.Env, error) { return envs.Make("CartPole-v1", nil) }, n: 2}
	if err := srv.makeEnvs(); err != nil {
		f.Fatal(err)
	}
	srv.spec = &Spec{ID: "CartPole-v1", NumEnvs: 2, Observation: srv.vec.Env(0).ObservationSpace().(*envs.Box), Action: envs.Discrete{N: 2}}
	srv.adim = 1
	srv.acts = make([]envs.Action, 2)
	srv.reqLim = requestLimits(2, 1)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, step bool, b []byte) {
		if step {
			r := &stepRequest{}
			r.lim = srv.requestBounds()
			if (codec{}).Unmarshal(b, r) == nil {
				srv.rpcStep(ctx, r)
			}
			return
		}
		r := &resetRequest{}
		r.lim = srv.requestBounds()
		if (codec{}).Unmarshal(b, r) == nil {
			srv.rpcReset(ctx, r)
		}
	})
}
