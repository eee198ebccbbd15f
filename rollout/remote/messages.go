package remote

import (
	"github.com/rlgo/rlgo/envs/external"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/rollout"
)

// ProtocolVersion is the version of the messages below; Register refuses a
// worker that speaks another.
// Version 2: RegisterReply.Spec is a rollout.PolicySpec (actor-critic or
// ε-greedy Q-network), not an actor-critic spec.
// Version 3: env wrappers and custom metrics in RegisterReply; weights may
// carry observation-normalisation statistics, which workers must apply,
// and batches continuous actions and raw observation statistics.
// Version 4: numeric columns and weight tensors are little-endian bins;
// UploadRequest carries the batch inline (not msgpack inside a bin);
// RegisterReply.Columns says which optional columns to fill.
// Version 5: RegisterReply.External (env.external: an env server per worker).
const ProtocolVersion = 5

// RegisterRequest is a worker joining the learner.
type RegisterRequest struct {
	Protocol int    `msgpack:"protocol"`
	Hostname string `msgpack:"hostname"`
	PID      int    `msgpack:"pid"`
	// PreviousID is the id this process had before it lost the learner
	// ("" for a new process): re-registering with it counts as a restart.
	PreviousID string `msgpack:"previous_id"`
}

// RegisterReply tells a worker who it is and everything it needs to run.
type RegisterReply struct {
	// WorkerID identifies the worker in every later call.
	WorkerID string `msgpack:"worker_id"`
	// Index is the worker's index: its seed derives from Seed and Index.
	Index int `msgpack:"index"`
	// Learner identifies the learner process (changes when it restarts).
	Learner string `msgpack:"learner"`

	EnvID string `msgpack:"env_id"`
	// EnvOptionsYAML is env.options as YAML, so the worker gets exactly
	// the types the learner read from its config file.
	EnvOptionsYAML []byte `msgpack:"env_options_yaml"`
	// WrappersYAML is env.wrappers (a list of envs.WrapperSpec) as YAML,
	// for the same reason.
	WrappersYAML []byte `msgpack:"wrappers_yaml"`
	// Metrics are the custom episode metrics to read from step info.
	Metrics        []rollout.MetricSpec `msgpack:"metrics"`
	EnvsPerWorker  int                  `msgpack:"envs_per_worker"`
	FragmentLength int                  `msgpack:"fragment_length"`
	Seed           uint64               `msgpack:"seed"`
	// Columns are the optional batch columns the algorithm reads (zero:
	// all): the worker computes and uploads only those.
	Columns rollout.Columns `msgpack:"columns"`
	// External is env.external: the env server each worker starts or
	// dials (nil: envs from the worker's own registry).
	External *external.Config `msgpack:"external,omitempty"`

	// Spec is the policy to act with: policy.ActorCritic, or
	// policy.EpsilonGreedy taking ε from the weights.
	Spec rollout.PolicySpec `msgpack:"spec"`
	// Version and Weights (msgpack policy.Weights, encoded once per
	// version and sent as is to every worker) are the current weights.
	Version uint64 `msgpack:"version"`
	Weights []byte `msgpack:"weights"`

	// HeartbeatMillis is how often the worker must call Heartbeat.
	HeartbeatMillis int64 `msgpack:"heartbeat_ms"`
}

// WaitWorkRequest is a worker saying it is idle: it holds weights
// HaveVersion and wants a task. Any task it still held is given up.
type WaitWorkRequest struct {
	WorkerID    string `msgpack:"worker_id"`
	HaveVersion uint64 `msgpack:"have_version"`
	// EnvErrors is the number of env failures the worker has recovered
	// from since it started (reported in the learner's stats).
	EnvErrors int64 `msgpack:"env_errors"`
}

// WaitWorkReply carries newer weights, a task, or neither (the poll timed
// out: call again).
type WaitWorkReply struct {
	// Version is the version the worker must act with for Task.
	Version uint64 `msgpack:"version"`
	// Weights is msgpack policy.Weights of Version when it is newer than
	// the worker's HaveVersion, else empty.
	Weights []byte `msgpack:"weights"`
	// TaskID is the fragment to sample ("" for none); the batch is
	// uploaded under this id.
	TaskID string `msgpack:"task_id"`
	// Done says the run has ended: the worker may exit.
	Done bool `msgpack:"done"`
}

// UploadRequest is one fragment sampled for a task.
type UploadRequest struct {
	WorkerID string `msgpack:"worker_id"`
	TaskID   string `msgpack:"task_id"`
	// Batch is the fragment, inline: the codec walks the whole request's
	// headers once and decodes it in one pass (rollout.SampleBatch's own
	// msgpack coding, numeric columns as bins); the learner then checks
	// its shapes (SampleBatch.Validate) and its values against the run.
	Batch *rollout.SampleBatch `msgpack:"batch"`

	// decodeErr is set by the codec when the request is well-formed
	// msgpack but not an upload (a field of the wrong type, a column of
	// a size no batch has): the learner answers InvalidArgument and counts
	// the batch as rejected, rather than grpc answering Internal.
	decodeErr error
	// lim bounds the request's size and decoded size (Fleet.uploadLimits);
	// zero: wire.DefaultLimits.
	lim wire.Limits
}

func (r *UploadRequest) decodeFailed(err error) { r.decodeErr = err }

func (r *UploadRequest) limits() wire.Limits {
	if r.lim == (wire.Limits{}) {
		return wire.DefaultLimits
	}
	return r.lim
}

// UploadStatus is the learner's verdict on an uploaded batch.
type UploadStatus string

// Upload verdicts.
const (
	// Accepted: the batch counts for the current iteration.
	Accepted UploadStatus = "accepted"
	// Stale: the batch's task or weights version is no longer current
	// (the task was given to another worker, or a new version was set).
	Stale UploadStatus = "stale"
	// Duplicate: a batch with this task id was already accepted (a
	// retried upload); it is counted once.
	Duplicate UploadStatus = "duplicate"
)

// UploadReply is the verdict on an upload.
type UploadReply struct {
	Status UploadStatus `msgpack:"status"`
}

// HeartbeatRequest keeps a worker alive while it samples.
type HeartbeatRequest struct {
	WorkerID string `msgpack:"worker_id"`
}

// HeartbeatReply is empty; an unknown worker gets codes.NotFound.
type HeartbeatReply struct{}

// DeregisterRequest is a worker leaving (SIGTERM, Ctrl-C): the learner
// drops it at once and gives its task to another worker, rather than
// waiting WorkerTimeout to notice it is gone.
type DeregisterRequest struct {
	WorkerID string `msgpack:"worker_id"`
}

// DeregisterReply is empty; an unknown worker is no error.
type DeregisterReply struct{}
