package dqn

import (
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
)

// DQN's own checkpoint files, beside the common ones
// (algorithms.FileWeights, ...): typed msgpack state, never code.
const (
	fileTarget = "target.msgpack" // target network θ'
	fileReplay = "replay.msgpack" // replay buffer and priorities (absent with dqn.checkpoint_replay false)
	fileNStep  = "nstep.msgpack"  // the workers' envs' n-step queues (only with algorithms.FileWorkers)
)

// replayState is the replay buffer's filled slots [0, Size) (a ring fills
// from slot 0), its write position, and with prioritised replay the
// slots' leaf priorities p_i^α and the largest priority seen.
type replayState struct {
	Capacity    int       `msgpack:"capacity"`
	ObsDim      int       `msgpack:"obs_dim"`
	Next        int       `msgpack:"next"`
	Size        int       `msgpack:"size"`
	Obs         []float32 `msgpack:"obs"`
	NextObs     []float32 `msgpack:"next_obs"`
	Actions     []int32   `msgpack:"actions"`
	Returns     []float32 `msgpack:"returns"`
	Bootstrap   []float32 `msgpack:"bootstrap"`
	Priorities  []float64 `msgpack:"priorities,omitempty"`
	MaxPriority float64   `msgpack:"max_priority,omitempty"`
}

// EncodeMsgpack writes the state as a msgpack map keyed by the field
// tags, each float32 and int32 column one bin (internal/wire's column
// encoding, a copy of the slice's memory): a full MinAtar buffer holds
// 2 × 100,000 × 400 observation values, and a tagged element per value
// took ~10 s per checkpoint where the bin takes well under one.
func (s *replayState) EncodeMsgpack(enc *msgpack.Encoder) error {
	kv := func(key string, encode func() error) error {
		if err := enc.EncodeString(key); err != nil {
			return err
		}
		return encode()
	}
	num := func(x int) func() error { return func() error { return enc.EncodeInt(int64(x)) } }
	floats := func(x []float32) func() error { return func() error { return wire.EncodeFloat32s(enc, x) } }
	steps := []struct {
		key string
		fn  func() error
	}{
		{"capacity", num(s.Capacity)},
		{"obs_dim", num(s.ObsDim)},
		{"next", num(s.Next)},
		{"size", num(s.Size)},
		{"obs", floats(s.Obs)},
		{"next_obs", floats(s.NextObs)},
		{"actions", func() error { return wire.EncodeInt32s(enc, s.Actions) }},
		{"returns", floats(s.Returns)},
		{"bootstrap", floats(s.Bootstrap)},
		{"priorities", func() error { return enc.Encode(s.Priorities) }},
		{"max_priority", func() error { return enc.EncodeFloat64(s.MaxPriority) }},
	}
	if err := enc.EncodeMapLen(len(steps)); err != nil {
		return err
	}
	for _, st := range steps {
		if err := kv(st.key, st.fn); err != nil {
			return fmt.Errorf("replay %s: %w", st.key, err)
		}
	}
	return nil
}

// encodedSize bounds the bytes EncodeMsgpack writes: keys and ints under
// 256 bytes, a 5-byte header and 4 bytes a value per column, 9 bytes a
// priority.
func (s *replayState) encodedSize() int {
	return 256 + 5*5 + 4*(len(s.Obs)+len(s.NextObs)+len(s.Actions)+len(s.Returns)+len(s.Bootstrap)) + 5 + 9*len(s.Priorities) + 9
}

// DecodeMsgpack reads what EncodeMsgpack writes, and the per-element
// arrays earlier versions wrote (wire's column decoders take both), so
// older checkpoints still resume. Unknown keys are skipped; shapes are
// checked by checkReplay.
func (s *replayState) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	*s = replayState{}
	for range max(n, 0) {
		key, err := dec.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "capacity":
			s.Capacity, err = dec.DecodeInt()
		case "obs_dim":
			s.ObsDim, err = dec.DecodeInt()
		case "next":
			s.Next, err = dec.DecodeInt()
		case "size":
			s.Size, err = dec.DecodeInt()
		case "obs":
			s.Obs, err = wire.DecodeFloat32s(dec, nil)
		case "next_obs":
			s.NextObs, err = wire.DecodeFloat32s(dec, nil)
		case "actions":
			s.Actions, err = wire.DecodeInt32s(dec, nil)
		case "returns":
			s.Returns, err = wire.DecodeFloat32s(dec, nil)
		case "bootstrap":
			s.Bootstrap, err = wire.DecodeFloat32s(dec, nil)
		case "priorities":
			err = dec.Decode(&s.Priorities)
		case "max_priority":
			s.MaxPriority, err = dec.DecodeFloat64()
		default:
			err = dec.Skip()
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", key, err)
		}
	}
	return nil
}

// nStepState is one env's pending steps, oldest first.
type nStepState struct {
	Obs     []float32 `msgpack:"obs"`
	Actions []int32   `msgpack:"actions"`
	Rewards []float32 `msgpack:"rewards"`
}

// SaveState returns the files of a checkpoint: the loop's common files
// (online network, Adam, counters, replay-sampling RNG, episode window,
// local workers — algorithms.Loop.SaveState), the target network, the
// replay buffer with its priorities (unless dqn.checkpoint_replay is
// false) and, with the workers, their envs' n-step queues (they hold the
// last steps of the episodes the envs are in), so that a resumed run
// continues exactly. Every schedule (ε, learning rate, β) and every
// decision of when to take a gradient step or move the target network
// is a function of the env steps the loop saves.
func (d *DQN) SaveState() (map[string][]byte, error) {
	files, err := d.Loop.SaveState(d.learner, d.rng)
	if err != nil {
		return nil, err
	}
	if files[fileTarget], err = d.next.target.Encode(); err != nil {
		return nil, err
	}
	if d.cfg.CheckpointReplay {
		st := d.replayState()
		if files[fileReplay], err = wire.MarshalSize(st, st.encodedSize()); err != nil {
			return nil, err
		}
	}
	if _, ok := files[algorithms.FileWorkers]; ok {
		queues := make([]nStepState, len(d.nstep))
		for i := range d.nstep {
			queues[i] = d.nstep[i].state()
		}
		if files[fileNStep], err = wire.Marshal(queues); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func (d *DQN) replayState() *replayState {
	r := d.replay
	n, D := r.size, r.obsDim
	st := &replayState{
		Capacity: r.capacity, ObsDim: D, Next: r.next, Size: n,
		Obs: r.obs[:n*D], NextObs: r.nextObs[:n*D], Actions: r.actions[:n],
		Returns: r.returns[:n], Bootstrap: r.bootstrap[:n],
	}
	if d.per != nil {
		st.Priorities = make([]float64, n)
		for i := range st.Priorities {
			st.Priorities[i] = d.per.tree.Get(i)
		}
		st.MaxPriority = d.per.maxPriority
	}
	return st
}

func (q *nStepQueue) state() nStepState {
	s := nStepState{Obs: make([]float32, 0, q.len*q.obsDim), Actions: make([]int32, 0, q.len), Rewards: make([]float32, 0, q.len)}
	for k := 0; k < q.len; k++ {
		i := (q.head + k) % q.n
		s.Obs = append(s.Obs, q.obs[i*q.obsDim:(i+1)*q.obsDim]...)
		s.Actions = append(s.Actions, q.actions[i])
		s.Rewards = append(s.Rewards, q.rewards[i])
	}
	return s
}

func (q *nStepQueue) check(s nStepState) error {
	k := len(s.Actions)
	if k >= q.n || len(s.Rewards) != k || len(s.Obs) != k*q.obsDim {
		return fmt.Errorf("n-step queue of %d steps with %d rewards and %d observation values does not fit n_step %d with %d-wide observations", k, len(s.Rewards), len(s.Obs), q.n, q.obsDim)
	}
	return nil
}

// setState restores a state that check accepted.
func (q *nStepQueue) setState(s nStepState) {
	q.head, q.len = 0, len(s.Actions)
	copy(q.obs, s.Obs)
	copy(q.actions, s.Actions)
	copy(q.rewards, s.Rewards)
}

// LoadState restores a checkpoint written by SaveState into a DQN built
// from the same config (a different number of workers is allowed: their
// episodes then start afresh, with empty n-step queues). Every file is
// decoded and checked before anything is applied; the weights and ε are
// broadcast to the fleet. notes says what was not restored exactly.
func (d *DQN) LoadState(files map[string][]byte) (notes []string, err error) {
	r, err := d.DecodeState(files, d.learner, d.rng)
	if err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	var target policy.Weights
	if err := algorithms.Decode(files, fileTarget, &target); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := algorithms.WeightsFit(d.next.target, &target); err != nil {
		return nil, fmt.Errorf("dqn: checkpoint target network does not fit this network: %w", err)
	}
	var rs *replayState
	if d.cfg.CheckpointReplay {
		rs = new(replayState)
		if err := algorithms.Decode(files, fileReplay, rs); err != nil {
			return nil, fmt.Errorf("dqn: %w", err)
		}
		if err := d.checkReplay(rs); err != nil {
			return nil, fmt.Errorf("dqn: checkpoint %s: %w", fileReplay, err)
		}
	}
	var queues []nStepState
	if r.HasWorkers() {
		if err := algorithms.Decode(files, fileNStep, &queues); err != nil {
			return nil, fmt.Errorf("dqn: %w", err)
		}
		if len(queues) != r.Workers()*d.Setup.Rollout.EnvsPerWorker {
			return nil, fmt.Errorf("dqn: checkpoint %s: %d n-step queues for %d workers of %d envs", fileNStep, len(queues), r.Workers(), d.Setup.Rollout.EnvsPerWorker)
		}
		for i, s := range queues {
			if err := d.nstep[0].check(s); err != nil {
				return nil, fmt.Errorf("dqn: checkpoint %s: env %d: %w", fileNStep, i, err)
			}
		}
	}

	notes, workers, err := r.Apply(func(w *policy.Weights) { w.Explore.Epsilon = float32(d.epsilonAt(d.EnvSteps)) })
	if err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := d.next.target.CopyFrom(&target); err != nil {
		return nil, fmt.Errorf("dqn: %w", err) // checked above: not reached
	}
	d.setReplay(rs)
	if rs == nil {
		notes = append(notes, "the checkpoint holds no replay buffer (dqn.checkpoint_replay false): the buffer starts empty and the resumed run is not exact")
	}
	for i := range d.nstep {
		d.nstep[i].head, d.nstep[i].len = 0, 0
	}
	if workers {
		for i, s := range queues {
			d.nstep[i].setState(s)
		}
	} else if len(notes) > 0 {
		notes[len(notes)-1] += " and the n-step queues start empty"
	}
	return notes, nil
}

// checkReplay checks that a saved replay buffer fits this run's.
func (d *DQN) checkReplay(s *replayState) error {
	r := d.replay
	if s.Capacity != r.capacity || s.ObsDim != r.obsDim {
		return fmt.Errorf("buffer of %d transitions of %d-wide observations does not fit buffer_size %d with %d-wide observations", s.Capacity, s.ObsDim, r.capacity, r.obsDim)
	}
	n := s.Size
	if n < 0 || n > s.Capacity || s.Next < 0 || s.Next >= s.Capacity || (n < s.Capacity && s.Next != n) {
		return fmt.Errorf("inconsistent ring: %d transitions, next slot %d, capacity %d", n, s.Next, s.Capacity)
	}
	if len(s.Obs) != n*s.ObsDim || len(s.NextObs) != n*s.ObsDim || len(s.Actions) != n || len(s.Returns) != n || len(s.Bootstrap) != n {
		return fmt.Errorf("%d transitions with %d/%d observation values, %d actions, %d returns, %d bootstraps", n, len(s.Obs), len(s.NextObs), len(s.Actions), len(s.Returns), len(s.Bootstrap))
	}
	for i, a := range s.Actions {
		if a < 0 || int(a) >= d.spec.NumActions {
			return fmt.Errorf("transition %d: action %d outside [0, %d)", i, a, d.spec.NumActions)
		}
	}
	if d.per != nil {
		if len(s.Priorities) != n {
			return fmt.Errorf("%d priorities for %d transitions (was the checkpoint made without prioritized replay?)", len(s.Priorities), n)
		}
		for i, p := range s.Priorities {
			if !(p >= 0) || math.IsInf(p, 0) {
				return fmt.Errorf("transition %d: priority %v", i, p)
			}
		}
		if !(s.MaxPriority > 0) || math.IsInf(s.MaxPriority, 0) {
			return fmt.Errorf("max priority %v", s.MaxPriority)
		}
	}
	return nil
}

// setReplay restores a buffer checkReplay accepted, or empties it (nil).
func (d *DQN) setReplay(s *replayState) {
	r := d.replay
	if d.per != nil {
		d.per = NewPrioritized(d.cfg.BufferSize, d.cfg.Alpha, d.cfg.PriorityEps)
	}
	if s == nil {
		r.next, r.size = 0, 0
		return
	}
	copy(r.obs, s.Obs)
	copy(r.nextObs, s.NextObs)
	copy(r.actions, s.Actions)
	copy(r.returns, s.Returns)
	copy(r.bootstrap, s.Bootstrap)
	r.next, r.size = s.Next, s.Size
	if d.per != nil {
		for i, p := range s.Priorities {
			d.per.tree.Set(i, p)
		}
		d.per.maxPriority = s.MaxPriority
	}
}

// WeightsVersion returns the version of the weights the fleet acts with,
// recorded in checkpoint metadata.
func (d *DQN) WeightsVersion() uint64 { return d.Version }
