package remote

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/external"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/rollout"
)

// Config configures the learner's server and its fleet. Zero fields take
// the defaults documented on them (see withDefaults).
type Config struct {
	// Listen is the host:port to listen on. Beyond loopback it needs
	// Token, and TLS unless AllowPlaintext.
	Listen string
	// Token is the shared bearer token ("" = no check, loopback only).
	Token string
	// TLSCertFile and TLSKeyFile serve TLS (PEM files).
	TLSCertFile, TLSKeyFile string
	// AllowPlaintext permits a non-loopback listener without TLS (a
	// private cluster network).
	AllowPlaintext bool

	// MinWorkers is how many workers must join before the first
	// iteration (config key rollout.min_workers). Default 1.
	MinWorkers int
	// StartTimeout bounds the wait for MinWorkers. Default 10 minutes.
	StartTimeout time.Duration
	// SampleTimeout bounds one Sample call once the fleet has started
	// (RLlib's sample_timeout_s). Default 60 s.
	SampleTimeout time.Duration
	// WorkerTimeout is how long a worker may go without a heartbeat or
	// an open poll before it is dropped and its task given to another.
	// Default 4 s.
	WorkerTimeout time.Duration
	// HeartbeatInterval is how often workers call Heartbeat. Default 1 s.
	HeartbeatInterval time.Duration
	// PollTimeout is the longest a WaitWork call waits on the server.
	// Default 5 s.
	PollTimeout time.Duration
	// MaxMessageBytes bounds every message both ways. Default and
	// maximum 64 MiB (wire.DefaultLimits).
	MaxMessageBytes int
	// MaxConcurrentStreams bounds the RPCs in flight per connection (a
	// worker has at most three). Default 16.
	MaxConcurrentStreams uint32
	// MaxConcurrentDecodes bounds the uploads decoded at once, over all
	// connections: with each bounded by the run's upload budget
	// (Fleet.UploadBudget), it bounds the learner's memory for uploads.
	// Default 2.
	MaxConcurrentDecodes int
	// ShutdownTimeout bounds GracefulStop before Stop. Default 5 s.
	ShutdownTimeout time.Duration
	// Logger receives membership and failure messages; nil discards them.
	Logger *slog.Logger
}

// Run is what the learner tells every worker about the run.
type Run struct {
	EnvID      string
	EnvOptions envs.Options
	// Wrappers and Metrics are env.wrappers and env.metrics (rollout.WorkerSpec).
	Wrappers []envs.WrapperSpec
	Metrics  []rollout.MetricSpec
	// Rollout sizes the iteration: Rollout.Workers fragments of
	// EnvsPerWorker × FragmentLength steps each.
	Rollout rollout.Config
	Seed    uint64
	// External, when set, makes every worker step its envs in an env
	// server (rollout.WorkerSpec.External). A worker runs a server
	// command from the learner only when it allows it
	// (WorkerConfig.AllowEnvCommand); an address it dials.
	External *external.Config
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MinWorkers <= 0 {
		c.MinWorkers = 1
	}
	def(&c.StartTimeout, 10*time.Minute)
	def(&c.SampleTimeout, 60*time.Second)
	def(&c.WorkerTimeout, 4*time.Second)
	def(&c.HeartbeatInterval, time.Second)
	def(&c.PollTimeout, 5*time.Second)
	def(&c.ShutdownTimeout, 5*time.Second)
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = wire.DefaultLimits.MaxBytes
	}
	if c.MaxConcurrentDecodes <= 0 {
		c.MaxConcurrentDecodes = 2
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = 16
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the security rule and the bounds.
func (c Config) Validate() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("TLS needs both a certificate and a key file")
	}
	if err := checkListenSecurity(c.Listen, c.Token, c.TLSCertFile != "", c.AllowPlaintext); err != nil {
		return err
	}
	if c.MaxMessageBytes > wire.DefaultLimits.MaxBytes {
		return fmt.Errorf("max message size %d is above the msgpack guard's limit of %d bytes", c.MaxMessageBytes, wire.DefaultLimits.MaxBytes)
	}
	if c.MinWorkers < 0 {
		return fmt.Errorf("min_workers: want ≥ 1, got %d", c.MinWorkers)
	}
	if c.HeartbeatInterval > 0 && c.WorkerTimeout > 0 && c.WorkerTimeout < 2*c.HeartbeatInterval {
		return fmt.Errorf("worker timeout %s must be at least twice the heartbeat interval %s", c.WorkerTimeout, c.HeartbeatInterval)
	}
	return nil
}
