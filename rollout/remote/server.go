package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/stats"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Server is the learner's gRPC server: the rollout service, the standard
// grpc.health.v1 service, and the Fleet they feed.
type Server struct {
	cfg    Config
	grpc   *grpc.Server
	health *health.Server
	fleet  *Fleet

	mu        sync.Mutex
	lis       net.Listener
	fleetMade bool

	decodes   chan struct{} // a slot per upload being decoded
	stopReap  chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewServer validates cfg and builds a server for run; Serve starts it.
func NewServer(cfg Config, run Run) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := run.Rollout.Validate(); err != nil {
		return nil, fmt.Errorf("rollout: %w", err)
	}
	cfg = cfg.withDefaults()
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	fleet, err := newFleet(cfg, run, "L"+hex.EncodeToString(id))
	if err != nil {
		return nil, err
	}
	auth := newAuthenticator(cfg.Token)
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxSendMsgSize(cfg.MaxMessageBytes),
		grpc.MaxConcurrentStreams(cfg.MaxConcurrentStreams),
		grpc.MaxHeaderListSize(64 << 10),
		grpc.ConnectionTimeout(10 * time.Second),
		// facts.md: with Time 2s, Timeout 2s a SIGSTOPped peer was noticed
		// in ~3 s; the default (2 h) noticed nothing for 20+ s.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Second, Timeout: 2 * time.Second}),
		// Clients ping every 10 s (grpc-go's minimum for clients).
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.InTapHandle(auth.tap),
		grpc.ChainUnaryInterceptor(auth.unary),
		grpc.ChainStreamInterceptor(auth.stream),
		grpc.StatsHandler(uploadStats{}),
	}
	if cfg.TLSCertFile != "" {
		creds, err := credentials.NewServerTLSFromFile(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	s := &Server{cfg: cfg, grpc: grpc.NewServer(opts...), health: health.NewServer(), fleet: fleet, stopReap: make(chan struct{}), decodes: make(chan struct{}, cfg.MaxConcurrentDecodes)}
	s.grpc.RegisterService(&serviceDesc, &handlers{s: s})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_SERVING)
	s.wg.Go(s.reapLoop)
	return s, nil
}

// Listen listens on cfg.Listen and serves there.
func Listen(cfg Config, run Run) (*Server, error) {
	s, err := NewServer(cfg, run)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Serve(lis)
	return s, nil
}

// Serve serves on lis in the background until Close.
func (s *Server) Serve(lis net.Listener) {
	s.mu.Lock()
	s.lis = lis
	s.mu.Unlock()
	s.wg.Go(func() {
		if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.cfg.Logger.Error("serve", "err", err)
		}
	})
}

// Addr returns the address served on (nil before Serve).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// NewFleet returns the server's fleet, acting first with w. It is a
// rollout.NewFleetFunc (ppo.Setup.NewFleet, dqn.Setup.NewFleet) and may
// be called once.
func (s *Server) NewFleet(spec rollout.FleetSpec, w *policy.Weights) (rollout.Fleet, error) {
	f, err := s.FleetFor(spec, w)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Fleet is FleetFor an actor-critic policy with no staleness allowed
// (PPO's fleet).
func (s *Server) Fleet(spec policy.ActorCriticSpec, w *policy.Weights) (*Fleet, error) {
	return s.FleetFor(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec)}, w)
}

// FleetFor is NewFleet returning the concrete type (for Stats).
func (s *Server) FleetFor(spec rollout.FleetSpec, w *policy.Weights) (*Fleet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fleetMade {
		return nil, errors.New("remote fleet: the server already has a fleet")
	}
	if err := s.fleet.configure(spec, w); err != nil {
		return nil, err
	}
	s.fleetMade = true
	return s.fleet, nil
}

// Stats reports the fleet's counters (zero before NewFleet).
func (s *Server) Stats() Stats { return s.fleet.Stats() }

// Close shuts down: health turns NOT_SERVING, workers are told the run
// is done at their next poll (waiting up to ShutdownTimeout for those
// still sampling), GracefulStop gets ShutdownTimeout to finish the RPCs
// in flight, then Stop cuts the rest.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.health.Shutdown() // every service NOT_SERVING
		s.fleet.Close()
		s.fleet.drain(s.cfg.ShutdownTimeout)
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		t := time.NewTimer(s.cfg.ShutdownTimeout)
		select {
		case <-done:
		case <-t.C:
			s.cfg.Logger.Warn("graceful stop timed out; stopping", "after", s.cfg.ShutdownTimeout)
			s.grpc.Stop()
			<-done
		}
		t.Stop()
		close(s.stopReap)
		s.wg.Wait()
	})
	return nil
}

// Kill stops the server abruptly, as a crashed learner would: workers are
// not told the run is done. For tests of worker reconnection.
func (s *Server) Kill() {
	s.closeOnce.Do(func() {
		s.grpc.Stop()
		close(s.stopReap)
		s.wg.Wait()
		s.fleet.Close()
	})
}

func (s *Server) reapLoop() {
	t := time.NewTicker(max(s.cfg.WorkerTimeout/8, 20*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stopReap:
			return
		case now := <-t.C:
			s.fleet.reap(now)
		}
	}
}

// handlers implements rolloutServer over the fleet.
type handlers struct{ s *Server }

func (h *handlers) Register(ctx context.Context, req *RegisterRequest) (*RegisterReply, error) {
	return h.s.fleet.register(ctx, req)
}

func (h *handlers) WaitWork(ctx context.Context, req *WaitWorkRequest) (*WaitWorkReply, error) {
	wait := h.s.cfg.PollTimeout
	if d, ok := ctx.Deadline(); ok {
		// Answer a little before the client gives up.
		wait = min(wait, time.Until(d)*3/4)
	}
	return h.s.fleet.waitWork(ctx, req, wait)
}

func (h *handlers) UploadBatch(ctx context.Context, req *UploadRequest) (*UploadReply, error) {
	n, dt := 0, time.Duration(0) // the stats handler below measures them
	if st, ok := ctx.Value(uploadStatsKey{}).(*uploadStat); ok && st.wire > 0 {
		n, dt = st.wire, st.recv.Sub(st.begin)
	}
	return h.s.fleet.upload(req, n, dt)
}

func (h *handlers) Heartbeat(_ context.Context, req *HeartbeatRequest) (*HeartbeatReply, error) {
	if err := h.s.fleet.heartbeat(req); err != nil {
		return nil, err
	}
	return &HeartbeatReply{}, nil
}

func (h *handlers) Deregister(_ context.Context, req *DeregisterRequest) (*DeregisterReply, error) {
	h.s.fleet.deregister(req.WorkerID)
	return &DeregisterReply{}, nil
}

// uploadStats measures uploads on the server: bytes on the wire, and the
// time from the request's headers to its payload received and decoded.
type uploadStats struct{}

type uploadStatsKey struct{}

type uploadStat struct {
	begin, recv time.Time
	wire        int
}

func (uploadStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	if info.FullMethodName == fullMethod(methodUpload) {
		return context.WithValue(ctx, uploadStatsKey{}, &uploadStat{})
	}
	return ctx
}

// HandleRPC runs in the RPC's goroutine before the handler is called.
func (uploadStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	st, ok := ctx.Value(uploadStatsKey{}).(*uploadStat)
	if !ok {
		return
	}
	switch s := s.(type) {
	case *stats.Begin:
		st.begin = s.BeginTime
	case *stats.InPayload:
		st.recv, st.wire = s.RecvTime, s.WireLength
	}
}

func (uploadStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (uploadStats) HandleConn(context.Context, stats.ConnStats)                       {}
