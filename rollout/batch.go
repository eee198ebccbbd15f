// Package rollout collects experience: a Worker steps its own vector env
// with the latest policy weights and returns fixed-length fragments as
// SampleBatches; a Fleet is what algorithms see — sample from every worker,
// set weights, report health — with a local implementation (goroutines)
// here and a remote one (gRPC) behind the same interface.
package rollout

import (
	"fmt"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

// SampleBatch is one fragment of experience from one worker: Steps steps of
// NumEnvs envs, stored time-major (index t*NumEnvs+i is step t of env i).
// Columns are typed; nothing is looked up by string.
type SampleBatch struct {
	// ID is unique per batch (worker index and sequence number), so a
	// retried upload can be recognised.
	ID string `msgpack:"id"`
	// WorkerIndex is the index of the worker that produced the batch.
	WorkerIndex int `msgpack:"worker"`
	// WeightsVersion is the version of the weights the worker acted with.
	WeightsVersion uint64 `msgpack:"version"`
	// NumEnvs, Steps and ObsDim give the columns' shapes.
	NumEnvs int `msgpack:"envs"`
	Steps   int `msgpack:"steps"`
	ObsDim  int `msgpack:"obs_dim"`

	// Obs is [Steps, NumEnvs, ObsDim]: the observation each action was taken in.
	Obs []float32 `msgpack:"obs"`
	// ActionDim is 0 for a Discrete action space, else the size of the Box
	// action space.
	ActionDim int `msgpack:"action_dim"`
	// Actions is [Steps, NumEnvs]: discrete action indices (empty when
	// ActionDim > 0).
	Actions []int32 `msgpack:"actions"`
	// ContinuousActions is [Steps, NumEnvs, ActionDim]: the actions the
	// policy sampled, before they were clipped to the action space's bounds
	// for the env (empty for a Discrete action space). The loss sees these.
	ContinuousActions []float32 `msgpack:"cont_actions"`
	// Rewards is [Steps, NumEnvs].
	Rewards []float32 `msgpack:"rewards"`
	// Terminated and Truncated are [Steps, NumEnvs]: how the step ended its episode, if it did.
	Terminated []bool `msgpack:"terminated"`
	Truncated  []bool `msgpack:"truncated"`
	// LogProbs is [Steps, NumEnvs]: log π(a|s) under the acting weights.
	LogProbs []float32 `msgpack:"logp"`
	// Values is [Steps, NumEnvs]: V(s) under the acting weights.
	Values []float32 `msgpack:"values"`
	// BootstrapValues is [Steps, NumEnvs]: V(final observation) where the
	// step truncated (and did not terminate) its episode, else 0. The final
	// observation of a truncated episode is a real state, so its value is
	// bootstrapped; a terminal state's is zero.
	BootstrapValues []float32 `msgpack:"bootstrap_values"`
	// FinalObs holds the last observation of every episode that ended in
	// the fragment (Obs at the next step already belongs to the next episode).
	FinalObs []FinalObs `msgpack:"final_obs"`
	// LastObs is [NumEnvs, ObsDim]: the observations after the last step,
	// and LastValues [NumEnvs] their values, to bootstrap the fragment's end.
	LastObs    []float32 `msgpack:"last_obs"`
	LastValues []float32 `msgpack:"last_values"`
	// Episodes lists the episodes completed in the fragment, in completion
	// order (step, then env index).
	Episodes []EpisodeStats `msgpack:"episodes"`
	// ObsStats, when the weights carried observation-normalisation
	// statistics, are the mean and variance of the raw observations this
	// fragment saw, for the learner to merge; nil otherwise.
	ObsStats *policy.ObsStats `msgpack:"obs_stats"`
}

// FinalObs is the last observation of an episode that ended at Index (t*NumEnvs+i).
type FinalObs struct {
	Index int       `msgpack:"index"`
	Obs   []float32 `msgpack:"obs"`
}

// EpisodeStats summarises one completed training episode.
type EpisodeStats struct {
	Worker int     `msgpack:"worker"`
	Env    int     `msgpack:"env"`
	Step   int     `msgpack:"step"` // step within the fragment at which it ended
	Return float64 `msgpack:"return"`
	Length int     `msgpack:"length"`
	// Metrics are the episode's custom metrics (WorkerSpec.Metrics), in
	// the order they were declared.
	Metrics []float64 `msgpack:"metrics"`
}

// Len returns the number of transitions (Steps × NumEnvs).
func (b *SampleBatch) Len() int { return b.Steps * b.NumEnvs }

// Validate checks that every column has the length its shape says.
func (b *SampleBatch) Validate() error {
	if b.NumEnvs <= 0 || b.Steps <= 0 || b.ObsDim <= 0 {
		return fmt.Errorf("sample batch %q: shape steps=%d envs=%d obs_dim=%d must be positive", b.ID, b.Steps, b.NumEnvs, b.ObsDim)
	}
	if b.NumEnvs > 1<<16 || b.Steps > 1<<20 || b.ObsDim > 1<<20 || b.ActionDim < 0 || b.ActionDim > 1<<16 {
		return fmt.Errorf("sample batch %q: shape steps=%d envs=%d obs_dim=%d action_dim=%d out of range", b.ID, b.Steps, b.NumEnvs, b.ObsDim, b.ActionDim)
	}
	n := b.Len()
	nDisc, nCont := n, 0
	if b.ActionDim > 0 {
		nDisc, nCont = 0, n*b.ActionDim
	}
	cols := []struct {
		name string
		got  int
		want int
	}{
		{"obs", len(b.Obs), n * b.ObsDim},
		{"actions", len(b.Actions), nDisc},
		{"cont_actions", len(b.ContinuousActions), nCont},
		{"rewards", len(b.Rewards), n},
		{"terminated", len(b.Terminated), n},
		{"truncated", len(b.Truncated), n},
		{"logp", len(b.LogProbs), n},
		{"values", len(b.Values), n},
		{"bootstrap_values", len(b.BootstrapValues), n},
		{"last_obs", len(b.LastObs), b.NumEnvs * b.ObsDim},
		{"last_values", len(b.LastValues), b.NumEnvs},
	}
	for _, c := range cols {
		if c.got != c.want {
			return fmt.Errorf("sample batch %q: column %s has %d values, want %d", b.ID, c.name, c.got, c.want)
		}
	}
	if b.ObsStats != nil {
		if err := b.ObsStats.Validate(b.ObsDim); err != nil {
			return fmt.Errorf("sample batch %q: %w", b.ID, err)
		}
	}
	for _, f := range b.FinalObs {
		if f.Index < 0 || f.Index >= n || len(f.Obs) != b.ObsDim {
			return fmt.Errorf("sample batch %q: final observation at index %d with %d values is out of shape", b.ID, f.Index, len(f.Obs))
		}
	}
	return nil
}

// Encode encodes the batch as msgpack (UnmarshalSampleBatch decodes it).
func (b *SampleBatch) Encode() ([]byte, error) { return wire.Marshal(b) }

// UnmarshalSampleBatch decodes msgpack bytes from outside the process. The
// bytes are length-checked before msgpack decodes them (internal/wire), so
// hostile or truncated input returns an error without allocating more than
// a small multiple of its size, and the decoded batch is validated.
func UnmarshalSampleBatch(data []byte) (*SampleBatch, error) {
	var b SampleBatch
	if err := wire.Unmarshal(data, &b, wire.DefaultLimits); err != nil {
		return nil, fmt.Errorf("decode sample batch: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("decode sample batch: %w", err)
	}
	return &b, nil
}
