// Package rollout collects experience: a Worker steps its own vector env
// with the latest policy weights and returns fixed-length fragments as
// SampleBatches; a Fleet is what algorithms see — sample from every worker,
// set weights, report health — with a local implementation (goroutines)
// here and a remote one (gRPC) behind the same interface.
package rollout

import (
	"fmt"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

// Columns is a set of a SampleBatch's optional columns: an algorithm
// declares the ones it reads (FleetSpec.Columns, WorkerSpec.Columns), and
// workers compute and fill only those, leaving the others empty. Obs,
// Actions or ContinuousActions, Rewards, Terminated, Truncated, Episodes
// and ObsStats are always filled.
//
// The zero value means AllColumns, so a spec that declares nothing gets
// every column, as before columns could be declared.
type Columns uint8

// The optional columns.
const (
	// ColLogProbs is SampleBatch.LogProbs, log π(a|s) (PPO's ratio).
	ColLogProbs Columns = 1 << iota
	// ColValues is SampleBatch.Values, V(s) (PPO's GAE and value loss).
	ColValues
	// ColBootstrapValues is SampleBatch.BootstrapValues: V of the final
	// observation of truncated episodes (one extra forward pass each).
	ColBootstrapValues
	// ColFinalObs is SampleBatch.FinalObs, the last observation of every
	// episode that ended (DQN's next observation; a copy each).
	ColFinalObs
	// ColLastObs is SampleBatch.LastObs, the observations after the
	// fragment's last step (DQN's next observation).
	ColLastObs
	// ColLastValues is SampleBatch.LastValues, their values (PPO's
	// bootstrap at the fragment's end).
	ColLastValues

	// AllColumns is every optional column.
	AllColumns = ColLogProbs | ColValues | ColBootstrapValues | ColFinalObs | ColLastObs | ColLastValues
)

var columnNames = []string{"logp", "values", "bootstrap_values", "final_obs", "last_obs", "last_values"}

// Resolve returns c, or AllColumns for the zero value.
func (c Columns) Resolve() Columns {
	if c == 0 {
		return AllColumns
	}
	return c & AllColumns
}

// Has reports whether every column of x is in c (the zero c has all).
func (c Columns) Has(x Columns) bool { return c.Resolve()&x == x }

// String lists the columns by their msgpack keys, joined by "|".
func (c Columns) String() string {
	c = c.Resolve()
	var names []string
	for i, n := range columnNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, "|")
}

// SampleBatch is one fragment of experience from one worker: Steps steps of
// NumEnvs envs, stored time-major (index t*NumEnvs+i is step t of env i).
// Columns are typed; nothing is looked up by string.
//
// On the wire (msgpack, EncodeMsgpack) the batch is a map keyed by the
// names in the field tags; every numeric column is one bin (float32 and
// int32 columns little-endian words, bool columns a byte each; see
// internal/wire), not a tagged msgpack element per value.
type SampleBatch struct {
	// ID is unique per batch (worker index and sequence number), so a
	// retried upload can be recognised.
	ID string `msgpack:"id"`
	// WorkerIndex is the batch's slot in the iteration, in
	// [0, rollout.workers): the local fleet's worker index; the remote
	// fleet's task slot (distinct within one Sample, whichever process
	// sampled it, so there may be more worker processes than slots).
	WorkerIndex int `msgpack:"worker"`
	// Source names the env stream the batch continues: batches with the
	// same Source come from the same envs, in order, each env's first
	// step following its last one in the previous batch of that Source.
	// "" (the local fleet): the stream is the WorkerIndex's. The remote
	// fleet sets it to the worker process's id and env build, so state
	// kept per env across fragments (DQN's n-step queues) is keyed by
	// it, not by the slot. Set by the fleet; not on the wire.
	Source string `msgpack:"-"`
	// WeightsVersion is the version of the weights the worker acted with.
	WeightsVersion uint64 `msgpack:"version"`
	// NumEnvs, Steps and ObsDim give the columns' shapes.
	NumEnvs int `msgpack:"envs"`
	Steps   int `msgpack:"steps"`
	ObsDim  int `msgpack:"obs_dim"`
	// Columns are the optional columns the batch holds (zero: all of
	// them); the others are empty.
	Columns Columns `msgpack:"columns"`

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
	// LogProbs is [Steps, NumEnvs]: log π(a|s) under the acting weights
	// (ColLogProbs).
	LogProbs []float32 `msgpack:"logp"`
	// Values is [Steps, NumEnvs]: V(s) under the acting weights (ColValues).
	Values []float32 `msgpack:"values"`
	// BootstrapValues is [Steps, NumEnvs]: V(final observation) where the
	// step truncated (and did not terminate) its episode, else 0. The final
	// observation of a truncated episode is a real state, so its value is
	// bootstrapped; a terminal state's is zero (ColBootstrapValues).
	BootstrapValues []float32 `msgpack:"bootstrap_values"`
	// FinalObs holds the last observation of every episode that ended in
	// the fragment (Obs at the next step already belongs to the next
	// episode), in index order (ColFinalObs).
	FinalObs []FinalObs `msgpack:"final_obs"`
	// LastObs is [NumEnvs, ObsDim]: the observations after the last step
	// (ColLastObs), and LastValues [NumEnvs] their values, to bootstrap the
	// fragment's end (ColLastValues).
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

// Validate checks that every column has the length its shape says: the
// optional columns the batch holds (Columns) full, the others empty.
func (b *SampleBatch) Validate() error {
	if b.NumEnvs <= 0 || b.Steps <= 0 || b.ObsDim <= 0 {
		return fmt.Errorf("sample batch %q: shape steps=%d envs=%d obs_dim=%d must be positive", b.ID, b.Steps, b.NumEnvs, b.ObsDim)
	}
	if b.NumEnvs > 1<<16 || b.Steps > 1<<20 || b.ObsDim > 1<<20 || b.ActionDim < 0 || b.ActionDim > 1<<16 {
		return fmt.Errorf("sample batch %q: shape steps=%d envs=%d obs_dim=%d action_dim=%d out of range", b.ID, b.Steps, b.NumEnvs, b.ObsDim, b.ActionDim)
	}
	if b.Columns&^AllColumns != 0 {
		return fmt.Errorf("sample batch %q: unknown columns %#x", b.ID, uint8(b.Columns&^AllColumns))
	}
	n := b.Len()
	nDisc, nCont := n, 0
	if b.ActionDim > 0 {
		nDisc, nCont = 0, n*b.ActionDim
	}
	// opt is n if the batch holds column c, else 0.
	opt := func(c Columns, n int) int {
		if b.Columns.Has(c) {
			return n
		}
		return 0
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
		{"logp", len(b.LogProbs), opt(ColLogProbs, n)},
		{"values", len(b.Values), opt(ColValues, n)},
		{"bootstrap_values", len(b.BootstrapValues), opt(ColBootstrapValues, n)},
		{"last_obs", len(b.LastObs), opt(ColLastObs, b.NumEnvs*b.ObsDim)},
		{"last_values", len(b.LastValues), opt(ColLastValues, b.NumEnvs)},
		{"final_obs", min(len(b.FinalObs), 1), min(opt(ColFinalObs, len(b.FinalObs)), 1)},
	}
	for _, c := range cols {
		if c.got != c.want {
			if c.name == "final_obs" {
				return fmt.Errorf("sample batch %q: %d final observations in a batch without column final_obs", b.ID, len(b.FinalObs))
			}
			return fmt.Errorf("sample batch %q: column %s has %d values, want %d", b.ID, c.name, c.got, c.want)
		}
	}
	if b.ObsStats != nil {
		if err := b.ObsStats.Validate(b.ObsDim); err != nil {
			return fmt.Errorf("sample batch %q: %w", b.ID, err)
		}
	}
	prev := -1
	for _, f := range b.FinalObs {
		if f.Index <= prev || f.Index >= n || len(f.Obs) != b.ObsDim {
			return fmt.Errorf("sample batch %q: final observation at index %d with %d values is out of shape or order", b.ID, f.Index, len(f.Obs))
		}
		prev = f.Index
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

// batchFields is the number of keys EncodeMsgpack writes.
const batchFields = 22

// EncodeMsgpack writes the batch as a msgpack map keyed by the field tags,
// each numeric column one bin (internal/wire's column encoding).
func (b *SampleBatch) EncodeMsgpack(enc *msgpack.Encoder) error {
	e := fieldEncoder{enc: enc}
	e.err = enc.EncodeMapLen(batchFields)
	e.str("id", b.ID)
	e.int("worker", int64(b.WorkerIndex))
	e.key("version")
	e.do(func() error { return enc.EncodeUint(b.WeightsVersion) })
	e.int("envs", int64(b.NumEnvs))
	e.int("steps", int64(b.Steps))
	e.int("obs_dim", int64(b.ObsDim))
	e.int("columns", int64(b.Columns))
	e.floats("obs", b.Obs)
	e.int("action_dim", int64(b.ActionDim))
	e.key("actions")
	e.do(func() error { return wire.EncodeInt32s(enc, b.Actions) })
	e.floats("cont_actions", b.ContinuousActions)
	e.floats("rewards", b.Rewards)
	e.key("terminated")
	e.do(func() error { return wire.EncodeBools(enc, b.Terminated) })
	e.key("truncated")
	e.do(func() error { return wire.EncodeBools(enc, b.Truncated) })
	e.floats("logp", b.LogProbs)
	e.floats("values", b.Values)
	e.floats("bootstrap_values", b.BootstrapValues)
	e.key("final_obs")
	e.do(func() error {
		if b.FinalObs == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(b.FinalObs)); err != nil {
			return err
		}
		for _, f := range b.FinalObs {
			fe := fieldEncoder{enc: enc}
			fe.err = enc.EncodeMapLen(2)
			fe.int("index", int64(f.Index))
			fe.floats("obs", f.Obs)
			if fe.err != nil {
				return fe.err
			}
		}
		return nil
	})
	e.floats("last_obs", b.LastObs)
	e.floats("last_values", b.LastValues)
	e.key("episodes")
	e.do(func() error { return enc.Encode(b.Episodes) })
	e.key("obs_stats")
	e.do(func() error { return enc.Encode(b.ObsStats) })
	return e.err
}

// DecodeMsgpack reads what EncodeMsgpack writes (numeric columns may also
// be msgpack arrays). Columns are decoded into the storage b already has
// where it has room, so a batch decoded into again and again stops
// allocating; fields the message lacks are left zero, unknown keys are
// skipped. It checks no shape: call Validate.
func (b *SampleBatch) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	old := *b
	*b = SampleBatch{}
	for range max(n, 0) {
		key, err := dec.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "id":
			b.ID, err = dec.DecodeString()
		case "worker":
			b.WorkerIndex, err = dec.DecodeInt()
		case "version":
			b.WeightsVersion, err = dec.DecodeUint64()
		case "envs":
			b.NumEnvs, err = dec.DecodeInt()
		case "steps":
			b.Steps, err = dec.DecodeInt()
		case "obs_dim":
			b.ObsDim, err = dec.DecodeInt()
		case "columns":
			var c uint64
			if c, err = dec.DecodeUint64(); err == nil && c > uint64(AllColumns) {
				err = fmt.Errorf("unknown columns %#x", c)
			}
			b.Columns = Columns(c)
		case "obs":
			b.Obs, err = wire.DecodeFloat32s(dec, old.Obs)
		case "action_dim":
			b.ActionDim, err = dec.DecodeInt()
		case "actions":
			b.Actions, err = wire.DecodeInt32s(dec, old.Actions)
		case "cont_actions":
			b.ContinuousActions, err = wire.DecodeFloat32s(dec, old.ContinuousActions)
		case "rewards":
			b.Rewards, err = wire.DecodeFloat32s(dec, old.Rewards)
		case "terminated":
			b.Terminated, err = wire.DecodeBools(dec, old.Terminated)
		case "truncated":
			b.Truncated, err = wire.DecodeBools(dec, old.Truncated)
		case "logp":
			b.LogProbs, err = wire.DecodeFloat32s(dec, old.LogProbs)
		case "values":
			b.Values, err = wire.DecodeFloat32s(dec, old.Values)
		case "bootstrap_values":
			b.BootstrapValues, err = wire.DecodeFloat32s(dec, old.BootstrapValues)
		case "final_obs":
			b.FinalObs, err = decodeFinalObs(dec, old.FinalObs)
		case "last_obs":
			b.LastObs, err = wire.DecodeFloat32s(dec, old.LastObs)
		case "last_values":
			b.LastValues, err = wire.DecodeFloat32s(dec, old.LastValues)
		case "episodes":
			err = dec.Decode(&b.Episodes) // fresh: consumers may keep episodes
		case "obs_stats":
			err = dec.Decode(&b.ObsStats)
		default:
			err = dec.Skip()
		}
		if err != nil {
			return fmt.Errorf("sample batch: %s: %w", key, err)
		}
	}
	return nil
}

// decodeFinalObs reads the final observations into dst's entries and
// their storage where there is room.
func decodeFinalObs(dec *msgpack.Decoder, dst []FinalObs) ([]FinalObs, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	out := dst[:0]
	for i := range n {
		var f FinalObs
		if i < cap(dst) {
			f.Obs = dst[:cap(dst)][i].Obs
		}
		m, err := dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		obs := f.Obs
		f.Obs = nil
		for range max(m, 0) {
			key, err := dec.DecodeString()
			if err != nil {
				return nil, err
			}
			switch key {
			case "index":
				f.Index, err = dec.DecodeInt()
			case "obs":
				f.Obs, err = wire.DecodeFloat32s(dec, obs)
			default:
				err = dec.Skip()
			}
			if err != nil {
				return nil, fmt.Errorf("final observation %d: %s: %w", i, key, err)
			}
		}
		out = append(out, f)
	}
	if out == nil {
		out = []FinalObs{}
	}
	return out, nil
}

// fieldEncoder writes map entries, keeping the first error.
type fieldEncoder struct {
	enc *msgpack.Encoder
	err error
}

func (e *fieldEncoder) do(f func() error) {
	if e.err == nil {
		e.err = f()
	}
}

func (e *fieldEncoder) key(k string) { e.do(func() error { return e.enc.EncodeString(k) }) }

func (e *fieldEncoder) str(k, v string) {
	e.key(k)
	e.do(func() error { return e.enc.EncodeString(v) })
}

func (e *fieldEncoder) int(k string, v int64) {
	e.key(k)
	e.do(func() error { return e.enc.EncodeInt(v) })
}

func (e *fieldEncoder) floats(k string, v []float32) {
	e.key(k)
	e.do(func() error { return wire.EncodeFloat32s(e.enc, v) })
}
