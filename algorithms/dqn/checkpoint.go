package dqn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/learner"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// The files of a DQN checkpoint: typed msgpack state, never code.
const (
	fileWeights   = "weights.msgpack"   // online Q-network, its version and ε
	fileTarget    = "target.msgpack"    // target network θ'
	fileOptimizer = "optimizer.msgpack" // Adam's moments and step
	fileReplay    = "replay.msgpack"    // replay buffer and priorities (dqn.checkpoint_replay)
	fileState     = "state.msgpack"     // counters, sampling RNG, episode window
	fileWorkers   = "workers.msgpack"   // local workers and their envs' n-step queues
)

// trainState is DQN's own state beyond networks, optimizer and replay.
// Every schedule (ε, learning rate, β) and every decision of when to take
// a gradient step or move the target network is a function of EnvSteps,
// so the counters here are all a resumed run needs to keep that timing.
type trainState struct {
	Iteration int                    `msgpack:"iteration"`
	EnvSteps  int64                  `msgpack:"env_steps"`
	Version   uint64                 `msgpack:"version"`
	TimeS     float64                `msgpack:"time_s"`
	RNG       []byte                 `msgpack:"rng"` // replay sampling
	Window    algorithms.WindowState `msgpack:"window"`
	Replay    bool                   `msgpack:"replay"` // replay.msgpack was saved
}

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

// nStepState is one env's pending steps, oldest first.
type nStepState struct {
	Obs     []float32 `msgpack:"obs"`
	Actions []int32   `msgpack:"actions"`
	Rewards []float32 `msgpack:"rewards"`
}

// workersState is the local workers' snapshots and, in fleet order, the
// n-step queues of their envs: the queues hold the last steps of the
// episodes the envs are in, so they are restored only with the workers.
type workersState struct {
	Workers []*rollout.WorkerState `msgpack:"workers"`
	NStep   []nStepState           `msgpack:"n_step"`
}

// SaveState returns the files of a checkpoint: the online and target
// networks, Adam's state, the replay buffer with its priorities (unless
// dqn.checkpoint_replay is false), DQN's counters, sampling RNG and episode
// window, and — when the fleet is local and its envs can snapshot — every
// worker's envs and random stream with their n-step queues, so that a
// resumed run continues exactly.
func (d *DQN) SaveState() (map[string][]byte, error) {
	files := map[string][]byte{}
	w := d.learner.Weights().Clone()
	w.Version = d.version
	var err error
	if files[fileWeights], err = w.Encode(); err != nil {
		return nil, err
	}
	if files[fileTarget], err = d.next.target.Encode(); err != nil {
		return nil, err
	}
	if files[fileOptimizer], err = wire.Marshal(d.learner.Optimizer().State()); err != nil {
		return nil, err
	}
	if d.cfg.CheckpointReplay {
		if files[fileReplay], err = wire.Marshal(d.replayState()); err != nil {
			return nil, err
		}
	}
	rng, err := d.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := trainState{Iteration: d.iteration, EnvSteps: d.envSteps, Version: d.version,
		TimeS: time.Since(d.start).Seconds(), RNG: rng, Window: d.window.State(), Replay: d.cfg.CheckpointReplay}
	if files[fileState], err = wire.Marshal(st); err != nil {
		return nil, err
	}
	if f, ok := d.fleet.(rollout.FleetSnapshotter); ok {
		ws, err := f.Snapshot()
		switch {
		case errors.Is(err, envs.ErrNoSnapshot):
			// Custom envs without Snapshotter resume with fresh episodes
			// (and empty n-step queues).
		case err != nil:
			return nil, err
		default:
			all := workersState{Workers: ws}
			for i := range d.nstep {
				all.NStep = append(all.NStep, d.nstep[i].state())
			}
			if files[fileWorkers], err = wire.Marshal(all); err != nil {
				return nil, err
			}
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
// episodes then start afresh, with empty n-step queues). The weights and ε
// are broadcast to the fleet. notes says what was not restored exactly.
func (d *DQN) LoadState(files map[string][]byte) (notes []string, err error) {
	get := func(name string, v any) error {
		b, ok := files[name]
		if !ok {
			return fmt.Errorf("dqn: checkpoint lacks %s", name)
		}
		// Bounded by the file itself: every element takes at least a
		// byte, so decoding allocates at most a few times its size.
		lim := wire.Limits{MaxBytes: max(len(b), 1<<20), MaxElements: max(len(b), 1<<20)}
		if err := wire.Unmarshal(b, v, lim); err != nil {
			return fmt.Errorf("dqn: checkpoint %s: %w", name, err)
		}
		return nil
	}
	// Decode and check everything before changing anything.
	var w, target policy.Weights
	if err := get(fileWeights, &w); err != nil {
		return nil, err
	}
	if err := get(fileTarget, &target); err != nil {
		return nil, err
	}
	var adam learner.AdamState
	if err := get(fileOptimizer, &adam); err != nil {
		return nil, err
	}
	var st trainState
	if err := get(fileState, &st); err != nil {
		return nil, err
	}
	if st.Iteration < 0 || st.EnvSteps < 0 {
		return nil, fmt.Errorf("dqn: checkpoint %s: negative counters (iteration %d, %d env steps)", fileState, st.Iteration, st.EnvSteps)
	}
	var rs *replayState
	if st.Replay {
		rs = new(replayState)
		if err := get(fileReplay, rs); err != nil {
			return nil, err
		}
		if err := d.checkReplay(rs); err != nil {
			return nil, fmt.Errorf("dqn: checkpoint %s: %w", fileReplay, err)
		}
	}
	var ws *workersState
	if _, saved := files[fileWorkers]; saved {
		ws = new(workersState)
		if err := get(fileWorkers, ws); err != nil {
			return nil, err
		}
		if len(ws.NStep) != len(ws.Workers)*d.setup.Rollout.EnvsPerWorker {
			return nil, fmt.Errorf("dqn: checkpoint %s: %d n-step queues for %d workers of %d envs", fileWorkers, len(ws.NStep), len(ws.Workers), d.setup.Rollout.EnvsPerWorker)
		}
		for i, s := range ws.NStep {
			if err := d.nstep[0].check(s); err != nil {
				return nil, fmt.Errorf("dqn: checkpoint %s: env %d: %w", fileWorkers, i, err)
			}
		}
	}

	if err := d.learner.SetWeights(&w); err != nil {
		return nil, fmt.Errorf("dqn: checkpoint weights do not fit this network: %w", err)
	}
	if err := d.next.target.CopyFrom(&target); err != nil {
		return nil, fmt.Errorf("dqn: checkpoint target network does not fit this network: %w", err)
	}
	if err := d.learner.Optimizer().SetState(adam); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := d.rng.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	if err := d.window.SetState(st.Window); err != nil {
		return nil, fmt.Errorf("dqn: %w", err)
	}
	d.iteration, d.envSteps, d.version = st.Iteration, st.EnvSteps, st.Version
	d.start = time.Now().Add(-time.Duration(st.TimeS * float64(time.Second)))
	d.setReplay(rs)
	if rs == nil {
		notes = append(notes, "the checkpoint holds no replay buffer (dqn.checkpoint_replay false): the buffer starts empty and the resumed run is not exact")
	}
	wts := d.learner.Weights()
	wts.Version = d.version
	wts.Explore.Epsilon = float32(d.epsilonAt(d.envSteps))
	if err := d.fleet.SetWeights(context.Background(), wts); err != nil {
		return nil, fmt.Errorf("dqn: broadcast restored weights: %w", err)
	}

	for i := range d.nstep { // restored below only with their workers
		d.nstep[i].head, d.nstep[i].len = 0, 0
	}
	f, local := d.fleet.(rollout.FleetSnapshotter)
	switch {
	case !local:
		notes = append(notes, "remote workers start fresh episodes and the n-step queues start empty")
	case ws == nil:
		notes = append(notes, "the envs cannot snapshot their state (no envs.Snapshotter): workers start fresh episodes and the n-step queues start empty")
	default:
		if err := f.Restore(ws.Workers); errors.Is(err, rollout.ErrFleetChanged) {
			notes = append(notes, err.Error()+": workers start fresh episodes and the n-step queues start empty")
		} else if err != nil {
			return nil, fmt.Errorf("dqn: %w", err)
		} else {
			for i, s := range ws.NStep {
				d.nstep[i].setState(s)
			}
		}
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
func (d *DQN) WeightsVersion() uint64 { return d.version }
