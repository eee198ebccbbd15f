// Package serve serves a trained policy to applications: HTTP/JSON and
// gRPC (msgpack) endpoints that answer observations with actions.
//
// Requests that arrive together are answered by one forward pass (a
// batch of at most Config.MaxBatch observations, gathered for at most
// Config.MaxWait); a request of a size seen before allocates nothing on
// its way through the decoder, the batcher and the encoder. The policy is
// the exported one (policy.Exported, what `rltrain export` writes and
// policy.Load reads) and acts as policy.Policy does: observations
// normalised with the statistics frozen in its weights, then the most
// probable (or greedy) action, or a sampled one on request. Frame stacks
// are kept per client session, as training's frame_stack wrapper kept
// them per env.
//
// Swap replaces the policy atomically (Watch does it for every new
// checkpoint of a run); every answer carries the version of the weights
// that computed it, and versions only move forward. Listening beyond
// loopback needs a token, and TLS unless plaintext is explicitly allowed,
// as for the rollout service. Cancelling Serve's context stops accepting
// requests and answers those in flight before it returns.
package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout/remote"
)

// Config configures a Server. Zero fields take the defaults documented
// on them.
type Config struct {
	// Addr is the HTTP listen address. Default 127.0.0.1:8600.
	Addr string
	// GRPCAddr is the gRPC listen address ("" serves no gRPC).
	GRPCAddr string
	// Token is the bearer token every act and spec request must carry
	// ("" = none, loopback only).
	Token string
	// TLSCertFile and TLSKeyFile serve TLS (PEM files) on both endpoints.
	TLSCertFile, TLSKeyFile string
	// AllowPlaintext permits a non-loopback listener without TLS (a
	// private network).
	AllowPlaintext bool

	// MaxBatch is the most observations one forward pass takes. Default 256.
	MaxBatch int
	// MaxWait is the longest a batch waits for more requests once it has
	// one, while other requests are on their way (HTTP handlers reading
	// their bodies, gRPC calls whose headers arrived); a request with
	// nothing else queued or on its way is answered at once. Default 0: a
	// batch takes what is queued when a worker is free (requests that
	// arrive while a pass runs form the next batch).
	MaxWait time.Duration
	// Workers is the number of batch goroutines, each with its own copy
	// of the network. Default 1.
	Workers int
	// QueueSize bounds the requests waiting for a worker; beyond it a
	// request is refused (HTTP 503, gRPC ResourceExhausted). Default 4096.
	QueueSize int
	// MaxRequestRows bounds the observations of one request. Default 1024.
	MaxRequestRows int
	// MaxBodyBytes bounds a request body (HTTP) or message (gRPC).
	// Default 1 MiB.
	MaxBodyBytes int

	// FrameStack is training's frame_stack wrapper (none by default).
	FrameStack FrameStack
	// MaxSessions bounds the open sessions. Default 10000.
	MaxSessions int
	// SessionIdle is how long a session may go unused before it is
	// forgotten (its next request starts a new episode). Default 10 min.
	SessionIdle time.Duration

	// Seed seeds the stream that seeds the sampling of explore requests
	// that give no seed and no session.
	Seed uint64
	// ShutdownTimeout bounds the wait for requests in flight when Serve's
	// context is cancelled. Default 30 s.
	ShutdownTimeout time.Duration
	// Logger receives swaps and errors; nil discards them.
	Logger *slog.Logger
	// Now is the clock (sessions' idle time); nil is time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8600"
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 256
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.MaxRequestRows <= 0 {
		c.MaxRequestRows = 1024
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 10000
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = 10 * time.Minute
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks the security rule of the rollout service (a token
// beyond loopback, and TLS unless AllowPlaintext) for both addresses, and
// the bounds; errors name the field.
func (c Config) Validate() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("tls: give both a certificate and a key file")
	}
	for _, a := range []struct{ name, addr string }{{"addr", c.Addr}, {"grpc_addr", c.GRPCAddr}} {
		if a.addr == "" {
			continue
		}
		if err := c.checkListen(a.name, a.addr); err != nil {
			return err
		}
	}
	switch {
	case c.MaxBatch < 0 || c.MaxBatch > 1<<16:
		return fmt.Errorf("max_batch: want in [1, 65536], got %d", c.MaxBatch)
	case c.MaxWait < 0 || c.MaxWait > time.Second:
		return fmt.Errorf("max_wait: want in [0, 1s], got %s", c.MaxWait)
	case c.Workers < 0 || c.Workers > 256:
		return fmt.Errorf("workers: want in [1, 256], got %d", c.Workers)
	case c.MaxRequestRows < 0 || c.MaxRequestRows > 1<<16:
		return fmt.Errorf("max_request_rows: want in [1, 65536], got %d", c.MaxRequestRows)
	case c.MaxBodyBytes < 0 || c.MaxBodyBytes > 64<<20:
		return fmt.Errorf("max_body_bytes: want at most 64 MiB, got %d", c.MaxBodyBytes)
	case c.FrameStack.N < 0 || c.FrameStack.N > 1024:
		return fmt.Errorf("frame_stack: want in [0, 1024], got %d", c.FrameStack.N)
	}
	return nil
}

// checkListen applies the rollout service's rule to one address: beyond
// loopback, a token, and TLS unless AllowPlaintext.
func (c Config) checkListen(name, addr string) error {
	if remote.IsLoopback(addr) {
		return nil
	}
	if c.Token == "" {
		return fmt.Errorf("%s: listening on %s (not loopback) needs a token: set %s or --token-file", name, addr, remote.TokenEnv)
	}
	if c.TLSCertFile == "" && !c.AllowPlaintext {
		return fmt.Errorf("%s: listening on %s (not loopback) needs TLS (--tls-cert and --tls-key), or --allow-plaintext on a private network", name, addr)
	}
	return nil
}

// checkListener is checkListen for a listener's own address (Serve may
// be given listeners that Config.Addr does not describe); a Unix socket
// is reachable only on this host, as loopback is.
func (c Config) checkListener(name string, lis net.Listener) error {
	if lis == nil || lis.Addr().Network() == "unix" {
		return nil
	}
	return c.checkListen(name, lis.Addr().String())
}

// Server serves one policy at a time over HTTP and gRPC.
type Server struct {
	cfg      Config
	current  atomic.Pointer[snapshot]
	swapMu   sync.Mutex
	sessions *sessions
	batch    *batcher
	metrics  *metrics
	free     freeList
	bufs     chan *[]byte
	replies  chan *replyBuf // gRPC replies' buffers
	auth     [sha256.Size]byte
	draining atomic.Bool
	seedMu   sync.Mutex
	seeds    *rand.Rand
	mux      *http.ServeMux
	grpc     *grpc.Server
	tls      *tls.Config // nil: plaintext
	closed   sync.Once
}

// New validates cfg and p and returns a server of p; Serve starts it.
// The version served is p.Weights.Version.
func New(cfg Config, p *policy.Exported) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkExported(p); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{cfg: cfg, free: make(freeList, cfg.QueueSize+64), bufs: make(chan *[]byte, 256), replies: make(chan *replyBuf, 256),
		auth: sha256.Sum256([]byte(cfg.Token)), seeds: rand.New(rand.NewPCG(cfg.Seed, 0x5e2fe))}
	var err error
	s.sessions, err = newSessions(cfg.FrameStack, p.ObsLow, p.ObsHigh, cfg.MaxSessions, cfg.SessionIdle, cfg.Now, s.seedPair)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.metrics = newMetrics(func() float64 { return float64(s.sessions.len()) })
	s.current.Store(&snapshot{exp: p, version: p.Weights.Version})
	s.metrics.version.Set(float64(p.Weights.Version))
	s.batch = newBatcher(&s.current, cfg.Workers, cfg.MaxBatch, cfg.QueueSize, cfg.MaxWait, s.metrics, func(err error) {
		cfg.Logger.Error("build network", "err", err)
	})
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/v1/act", s.handleAct)
	s.mux.HandleFunc("/v1/spec", s.handleSpec)
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	s.mux.HandleFunc("/readyz", s.handleReady)
	s.mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			s.batch.close()
			return nil, fmt.Errorf("serve: tls: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.grpc = s.newGRPC()
	return s, nil
}

func (s *Server) seedPair() (uint64, uint64) {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	return s.seeds.Uint64(), s.seeds.Uint64()
}

// Registry returns the Prometheus registry of the server's metrics
// (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Handler returns the HTTP handler (act, spec, health, readiness, metrics).
func (s *Server) Handler() http.Handler { return s.mux }

// Version returns the weights version served now.
func (s *Server) Version() uint64 { return s.current.Load().version }

// ErrOlderVersion is wrapped by Swap for a policy whose version is not
// newer than the one served.
var ErrOlderVersion = errors.New("not newer than the version served")

// Swap serves p from now on: requests answered after Swap returns carry
// p's version. p must act in the same spaces and have a newer version
// (p.Weights.Version), so versions only move forward.
func (s *Server) Swap(p *policy.Exported) error {
	if err := checkExported(p); err != nil {
		s.metrics.swapErrs.Inc()
		return fmt.Errorf("swap: %w", err)
	}
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	cur := s.current.Load()
	if err := compatible(cur.exp, p); err != nil {
		s.metrics.swapErrs.Inc()
		return fmt.Errorf("swap: %w", err)
	}
	if p.Weights.Version <= cur.version {
		s.metrics.swapErrs.Inc()
		return fmt.Errorf("swap: version %d: %w (%d)", p.Weights.Version, ErrOlderVersion, cur.version)
	}
	s.current.Store(&snapshot{exp: p, version: p.Weights.Version})
	s.metrics.version.Set(float64(p.Weights.Version))
	s.metrics.swaps.Inc()
	s.cfg.Logger.Info("serving a new policy", "version", p.Weights.Version, "previous", cur.version)
	return nil
}

// Serve serves HTTP on httpLis and gRPC on grpcLis (nil: none) until ctx
// is cancelled, then stops accepting, answers the requests in flight
// (within Config.ShutdownTimeout) and returns. A Server serves once.
// Listeners beyond loopback obey Validate's rule (a token, and TLS
// unless AllowPlaintext), checked on their own addresses: Serve refuses
// them, closing them, before it accepts anything.
func (s *Server) Serve(ctx context.Context, httpLis, grpcLis net.Listener) error {
	for _, l := range []struct {
		name string
		lis  net.Listener
	}{{"addr", httpLis}, {"grpc_addr", grpcLis}} {
		if err := s.cfg.checkListener(l.name, l.lis); err != nil {
			for _, lis := range []net.Listener{httpLis, grpcLis} {
				if lis != nil {
					lis.Close()
				}
			}
			s.Close()
			return fmt.Errorf("serve: %w", err)
		}
	}
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn)}
	if s.tls != nil {
		hs.TLSConfig = s.tls.Clone()
	}
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	if httpLis != nil {
		wg.Go(func() {
			var err error
			if hs.TLSConfig != nil {
				err = hs.ServeTLS(httpLis, "", "")
			} else {
				err = hs.Serve(httpLis)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http: %w", err)
			}
		})
	}
	if grpcLis != nil {
		wg.Go(func() {
			if err := s.grpc.Serve(grpcLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("serve grpc: %w", err)
			}
		})
	}
	sweep := time.NewTicker(max(s.cfg.SessionIdle/4, time.Second))
	defer sweep.Stop()
	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-errc:
			break loop
		case <-sweep.C:
			s.sessions.sweep()
		}
	}
	// Drain: not ready, stop accepting, answer what is in flight.
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var dwg sync.WaitGroup
	dwg.Go(func() {
		if e := hs.Shutdown(sctx); e != nil {
			s.cfg.Logger.Warn("http shutdown", "err", e)
			hs.Close()
		}
	})
	dwg.Go(func() {
		done := make(chan struct{})
		go func() { s.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			s.grpc.Stop()
			<-done
		}
	})
	dwg.Wait()
	wg.Wait()
	s.close()
	return err
}

// ListenAndServe listens on Config.Addr (and Config.GRPCAddr) and
// serves until ctx is cancelled. ready, if not nil, is called with the
// addresses once both listen.
func (s *Server) ListenAndServe(ctx context.Context, ready func(httpAddr, grpcAddr net.Addr)) error {
	hl, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		s.close()
		return fmt.Errorf("serve: %w", err)
	}
	var gl net.Listener
	var gaddr net.Addr
	if s.cfg.GRPCAddr != "" {
		if gl, err = net.Listen("tcp", s.cfg.GRPCAddr); err != nil {
			hl.Close()
			s.close()
			return fmt.Errorf("serve: %w", err)
		}
		gaddr = gl.Addr()
	}
	if ready != nil {
		ready(hl.Addr(), gaddr)
	}
	return s.Serve(ctx, hl, gl)
}

// close stops the batch workers (after every handler has returned).
func (s *Server) close() {
	s.closed.Do(func() {
		s.draining.Store(true)
		s.batch.close()
	})
}

// Close releases a server that was never served.
func (s *Server) Close() { s.grpc.Stop(); s.close() }

// authorized checks an HTTP Authorization header against the token in
// constant time.
func (s *Server) authorized(header string) (bool, string) {
	if s.cfg.Token == "" {
		return true, ""
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return false, "missing bearer token"
	}
	if sum := tokenSum(tok); subtle.ConstantTimeCompare(sum[:], s.auth[:]) != 1 {
		return false, "wrong token"
	}
	return true, ""
}

var jsonContentType = []string{"application/json"}

// putCall recycles c, which no longer counts as on its way.
func (s *Server) putCall(c *call) {
	s.batch.depart(c)
	s.free.put(c)
}

// getBuf and putBuf recycle body and reply buffers.
func (s *Server) getBuf() *[]byte {
	select {
	case b := <-s.bufs:
		return b
	default:
		b := make([]byte, 0, 4096)
		return &b
	}
}

func (s *Server) putBuf(b *[]byte) {
	if cap(*b) > 4*s.cfg.MaxBodyBytes {
		return
	}
	*b = (*b)[:0]
	select {
	case s.bufs <- b:
	default:
	}
}

// readBody reads r's body into *buf, refusing more than max bytes.
func readBody(r *http.Request, buf *[]byte, max int) ([]byte, error) {
	if r.ContentLength > int64(max) {
		return nil, errTooLarge
	}
	b := (*buf)[:0]
	if r.ContentLength > 0 && cap(b) < int(r.ContentLength) {
		b = make([]byte, 0, r.ContentLength)
	}
	for {
		if len(b) == cap(b) {
			if len(b) > max {
				return nil, errTooLarge
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > max {
			*buf = b
			return nil, errTooLarge
		}
		if err == io.EOF {
			*buf = b
			return b, nil
		}
		if err != nil {
			*buf = b
			return nil, err
		}
	}
}

var errTooLarge = errors.New("too large")

// httpError answers a refused request: JSON {"error": ..., "field": ...}.
func httpError(w http.ResponseWriter, code int, field, msg string) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{msg, field})
	w.Write(append(b, '\n'))
}

func (s *Server) handleAct(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header()["Allow"] = []string{http.MethodPost}
		httpError(w, http.StatusMethodNotAllowed, "", "POST a JSON object to /v1/act")
		return
	}
	if ok, why := s.authorized(r.Header.Get("Authorization")); !ok {
		s.metrics.request("http", outcomeUnauthorized)
		w.Header()["Www-Authenticate"] = []string{"Bearer"}
		httpError(w, http.StatusUnauthorized, "", why)
		return
	}
	c := s.free.get()
	defer s.putCall(c)
	s.batch.arrive(c)
	buf := s.getBuf()
	defer s.putBuf(buf)
	body, err := readBody(r, buf, s.cfg.MaxBodyBytes)
	if err != nil {
		s.metrics.request("http", outcomeBadRequest)
		if errors.Is(err, errTooLarge) {
			httpError(w, http.StatusRequestEntityTooLarge, "", "body: more than "+strconv.Itoa(s.cfg.MaxBodyBytes)+" bytes")
			return
		}
		httpError(w, http.StatusBadRequest, "", "body: "+err.Error())
		return
	}
	if err := decodeAct(body, c, s.sessions.frame, s.sessions.frame*s.sessions.n, s.cfg.MaxRequestRows); err != nil {
		s.answerError(w, err)
		return
	}
	if err := s.act(c); err != nil {
		s.answerError(w, err)
		return
	}
	out := appendReply((*buf)[:0], c) // the body is no longer needed
	*buf = out
	w.Header()["Content-Type"] = jsonContentType
	w.Write(out)
	s.metrics.request("http", outcomeOK)
	s.metrics.latency["http"].Observe(time.Since(start).Seconds())
}

// answerError answers an error of act or the decoder.
func (s *Server) answerError(w http.ResponseWriter, err error) {
	var re *RequestError
	var tm errTooManySessions
	switch {
	case errors.As(err, &re):
		s.metrics.request("http", outcomeBadRequest)
		httpError(w, http.StatusBadRequest, re.Field, re.Error())
	case errors.As(err, &tm):
		s.metrics.request("http", outcomeOverloaded)
		httpError(w, http.StatusTooManyRequests, "session", tm.Error())
	case errors.Is(err, errOverloaded):
		s.metrics.request("http", outcomeOverloaded)
		httpError(w, http.StatusServiceUnavailable, "", err.Error())
	default:
		s.metrics.request("http", outcomeUnavailable)
		httpError(w, http.StatusInternalServerError, "", err.Error())
	}
}

// act stacks c's frames per session, seeds its sampling and runs it
// through the batcher. c is decoded and shape-checked.
func (s *Server) act(c *call) error {
	snap := s.current.Load()
	if c.qValues && snap.exp.Kind != "q" {
		return badField("q_values", "the policy is an actor-critic; ask for probs")
	}
	if c.probs && snap.exp.Kind == "q" {
		return badField("probs", "the policy is a Q-network; ask for q_values")
	}
	dim := len(snap.exp.ObsLow)
	c.obs = growF(c.obs, c.rows*dim)
	var seed [2]uint64
	seeded := false
	if len(c.sessions) > 0 {
		fr := s.sessions.frame
		for i := 0; i < c.rows; i++ {
			if c.sessions[i].empty() {
				return badField(sessionField(c, i), "empty")
			}
			reset := len(c.resets) > 0 && c.resets[i]
			var sp *[2]uint64
			if i == 0 && c.explore && !c.hasSeed {
				sp, seeded = &seed, true
			}
			if err := s.sessions.step(c.sessions[i], reset, c.frames[i*fr:(i+1)*fr], c.obs[i*dim:(i+1)*dim], sp); err != nil {
				return err
			}
		}
	} else {
		copy(c.obs, c.frames)
	}
	if c.explore {
		switch {
		case c.hasSeed:
			c.src.Seed(c.seed, 0x5e2fe)
		case seeded:
			c.src.Seed(seed[0], seed[1])
		default:
			a, b := s.seedPair()
			c.src.Seed(a, b)
		}
	}
	if err := s.batch.submit(c); err != nil {
		return err
	}
	s.metrics.actions.Add(float64(c.rows))
	return nil
}

func sessionField(c *call, i int) string {
	if c.batch {
		return indexed("sessions", i)
	}
	return "session"
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ready: version "+strconv.FormatUint(s.Version(), 10)+"\n")
}

// Spec describes the policy served (GET /v1/spec, gRPC Spec).
type Spec struct {
	Kind    string `json:"kind" msgpack:"kind"`
	EnvID   string `json:"env_id" msgpack:"env_id"`
	Version uint64 `json:"version" msgpack:"version"`
	// ObsDim is the length of the policy's input; FrameSize the length of
	// one frame, what a request with a session sends (ObsDim / FrameStack).
	ObsDim     int       `json:"obs_dim" msgpack:"obs_dim"`
	ObsShape   []int     `json:"obs_shape,omitempty" msgpack:"obs_shape,omitempty"`
	ObsLow     []float32 `json:"obs_low" msgpack:"obs_low"`
	ObsHigh    []float32 `json:"obs_high" msgpack:"obs_high"`
	FrameStack int       `json:"frame_stack" msgpack:"frame_stack"`
	FrameSize  int       `json:"frame_size" msgpack:"frame_size"`
	// NumActions is the Discrete action count, or 0 for a Box action
	// space with bounds ActionLow and ActionHigh.
	NumActions int       `json:"num_actions" msgpack:"num_actions"`
	ActionLow  []float32 `json:"action_low,omitempty" msgpack:"action_low,omitempty"`
	ActionHigh []float32 `json:"action_high,omitempty" msgpack:"action_high,omitempty"`
	Model      Model     `json:"model" msgpack:"model"`
	// Normalized says the policy normalises observations itself (with
	// statistics frozen in its weights): send raw observations.
	Normalized     bool `json:"normalized" msgpack:"normalized"`
	MaxRequestRows int  `json:"max_request_rows" msgpack:"max_request_rows"`
}

// Model is the network's shape in a Spec.
type Model struct {
	Hidden     []int  `json:"hidden" msgpack:"hidden"`
	Activation string `json:"activation" msgpack:"activation"`
	ConvLayers int    `json:"conv_layers,omitempty" msgpack:"conv_layers,omitempty"`
	Preset     string `json:"preset,omitempty" msgpack:"preset,omitempty"`
	Dueling    bool   `json:"dueling,omitempty" msgpack:"dueling,omitempty"`
}

// Spec returns the description of the policy served now.
func (s *Server) Spec() Spec {
	snap := s.current.Load()
	e := snap.exp
	m := e.Model.Resolve()
	return Spec{Kind: e.Kind, EnvID: e.EnvID, Version: snap.version, ObsDim: len(e.ObsLow), ObsShape: e.ObsShape,
		ObsLow: e.ObsLow, ObsHigh: e.ObsHigh, FrameStack: s.sessions.n, FrameSize: s.sessions.frame,
		NumActions: e.NumActions, ActionLow: e.ActionLow, ActionHigh: e.ActionHigh,
		Model:      Model{Hidden: m.Hidden, Activation: string(m.Activation), ConvLayers: len(m.Conv), Preset: e.Model.Preset, Dueling: e.Dueling},
		Normalized: e.Weights.ObsNorm != nil, MaxRequestRows: s.cfg.MaxRequestRows}
}

func (s *Server) handleSpec(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusMethodNotAllowed, "", "GET /v1/spec")
		return
	}
	if ok, why := s.authorized(r.Header.Get("Authorization")); !ok {
		w.Header()["Www-Authenticate"] = []string{"Bearer"}
		httpError(w, http.StatusUnauthorized, "", why)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	json.NewEncoder(w).Encode(s.Spec())
}
