package remote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/internal/wire"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// Counters are the fleet's event counts, over a whole run (Stats.Total) or
// one iteration (Stats.Last).
type Counters struct {
	// Fragments is the number of batches accepted.
	Fragments int64
	// Stale counts batches rejected because their task or weights
	// version was no longer current (a new version was set, their worker
	// had been dropped and the task given to another, or they were acted
	// with weights more than rollout.FleetSpec.MaxStaleness versions old).
	Stale int64
	// Duplicate counts retried uploads of a batch already accepted.
	Duplicate int64
	// Dropped counts tasks given up mid-fragment: their worker died,
	// hung, re-registered or abandoned the fragment after an env error.
	Dropped int64
	// Rejected counts uploads that failed to decode or validate, or were
	// over the run's upload budget; their task is given to another worker.
	Rejected int64
	// EnvErrors counts env failures workers recovered from.
	EnvErrors int64
	// BytesReceived is the on-wire size of every uploaded batch.
	BytesReceived int64
	// TransferTime is the server-side receive time of the uploads: from
	// a request's headers to its payload read and decoded.
	TransferTime time.Duration
}

func (c *Counters) add(o Counters) {
	c.Fragments += o.Fragments
	c.Stale += o.Stale
	c.Duplicate += o.Duplicate
	c.Dropped += o.Dropped
	c.Rejected += o.Rejected
	c.EnvErrors += o.EnvErrors
	c.BytesReceived += o.BytesReceived
	c.TransferTime += o.TransferTime
}

// Stats is the fleet's state for progress columns.
type Stats struct {
	// Workers is the number of healthy workers now (fleet/workers).
	Workers int
	// Restarts counts workers that came back: a process re-registering
	// with the id it had before it was lost (fleet/restarts). A new
	// process is never a restart.
	Restarts int
	// Version is the weights version workers act with.
	Version uint64
	// Last covers the last completed Sample (from its SetWeights on).
	Last Counters
	// Total covers the whole run.
	Total Counters
}

// Fleet is the learner's rollout.Fleet over remote workers. It is created
// by Server.NewFleet; its methods are safe for concurrent use.
type Fleet struct {
	cfg          Config
	run          Run
	learnerID    string
	optsYAML     []byte
	wrappersYAML []byte

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	ready   bool          // NewFleet has set the spec and weights
	closed  bool
	spec    rollout.PolicySpec
	stale   uint64          // rollout.FleetSpec.MaxStaleness
	columns rollout.Columns // rollout.FleetSpec.Columns, resolved
	version uint64
	weights []byte // msgpack of the current weights
	// uploadLim bounds an upload's bytes and decoded size (uploadBudget).
	uploadLim wire.Limits

	members  map[string]*member
	gone     map[string]bool // ids dropped as dead (at most maxGone)
	restarts int
	limiter  *peerLimiter // Register calls per peer
	nextID   int
	started  bool // MinWorkers joined once
	round    *round
	taskSeq  int
	done     map[string]uint64 // accepted task ids → version, for duplicates

	total, cur, last Counters
}

type member struct {
	id        string
	index     int
	host      string
	pid       int
	lastSeen  time.Time
	called    bool   // made a call after Register
	polls     int    // WaitWork calls in flight
	task      string // task held, "" if none
	slot      int    // slot of the last task it was given, -1 before any
	envErrors int64
}

// round is one iteration's collection of fragments for one version.
type round struct {
	version  uint64
	needed   int
	assigned map[string]string // task id → worker id
	slots    map[string]int    // task id → its slot in [0, needed)
	batches  []accepted
}

type accepted struct {
	b   *rollout.SampleBatch
	seq int
}

// freeSlots lists, lowest first, the slots in [0, r.needed) that no
// accepted batch and no assigned task holds.
func (r *round) freeSlots() []int {
	used := make([]bool, r.needed)
	for _, a := range r.batches {
		used[a.b.WorkerIndex] = true
	}
	for t := range r.assigned {
		used[r.slots[t]] = true
	}
	var free []int
	for i, u := range used {
		if !u {
			free = append(free, i)
		}
	}
	return free
}

// unassign takes task out of the round. f.mu is held.
func (r *round) unassign(task string) {
	delete(r.assigned, task)
	delete(r.slots, task)
}

func newFleet(cfg Config, run Run, learnerID string) (*Fleet, error) {
	var opts []byte
	if len(run.EnvOptions) > 0 {
		var err error
		if opts, err = yaml.Marshal(run.EnvOptions); err != nil {
			return nil, fmt.Errorf("remote fleet: env options: %w", err)
		}
	}
	var wrappers []byte
	if len(run.Wrappers) > 0 {
		var err error
		if wrappers, err = yaml.Marshal(run.Wrappers); err != nil {
			return nil, fmt.Errorf("remote fleet: env wrappers: %w", err)
		}
	}
	return &Fleet{
		cfg:          cfg,
		run:          run,
		wrappersYAML: wrappers,
		learnerID:    learnerID,
		optsYAML:     opts,
		changed:      make(chan struct{}),
		members:      map[string]*member{},
		gone:         map[string]bool{},
		done:         map[string]uint64{},
		limiter:      newPeerLimiter(registerRate, registerBurst),
	}, nil
}

// notify wakes every waiter; f.mu is held.
func (f *Fleet) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// wait releases f.mu until the state changes, ctx is done or d passes,
// and takes it again. It reports whether ctx is still alive.
func (f *Fleet) wait(ctx context.Context, d time.Duration) bool {
	ch := f.changed
	f.mu.Unlock()
	t := time.NewTimer(d)
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	f.mu.Lock()
	return ctx.Err() == nil
}

// configure makes the fleet ready for workers: Register waits for it.
func (f *Fleet) configure(spec rollout.FleetSpec, w *policy.Weights) error {
	if err := spec.Policy.Validate(); err != nil {
		return fmt.Errorf("remote fleet: %w", err)
	}
	b, err := w.Encode()
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready {
		return errors.New("remote fleet: the server already has a fleet")
	}
	f.spec, f.stale, f.columns, f.version, f.weights, f.ready = spec.Policy, spec.MaxStaleness, spec.Columns.Resolve(), w.Version, b, true
	budget := uploadBudget(f.run, spec.Policy)
	f.uploadLim = wire.Limits{MaxBytes: min(budget, f.cfg.MaxMessageBytes), MaxDecoded: budget}
	f.notify()
	return nil
}

// uploadBudget is the most bytes an upload of run acted with spec may
// cost decoded (wire.Limits.MaxDecoded's model, which also bounds its
// size on the wire): every column at its full length, a final
// observation and an episode with its custom metrics at every step (an
// env whose episodes last one step), observation statistics, and 64 KiB
// for ids, keys and scalars. rollout.workers × envs × steps × obs size
// drives it: a 16 MB upload to a CartPole run of 2 envs × 32 steps is
// 80 times its ~210 KB budget.
func uploadBudget(run Run, spec rollout.PolicySpec) int {
	const e = wire.ElemBytes
	obs, act, met := spec.ObsDim(), max(spec.ActionDim(), 1), len(run.Metrics)
	n := run.Rollout.EnvsPerWorker * run.Rollout.FragmentLength
	perStep := 4*obs + 4*act + 4*4 + 2 + // obs, actions, rewards, logp, values, bootstrap, terminated, truncated
		4*obs + 5*e + // a final observation: array entry, map of 2 pairs, its bin
		(1+2*6+met)*e + 64 // an episode: array entry, map of 6 pairs, metrics, key names
	perEnv := 4*obs + 4 // last_obs, last_values
	stats := (2*obs+8)*e + 64
	return n*perStep + run.Rollout.EnvsPerWorker*perEnv + stats + 64<<10
}

// uploadLimits bounds the next upload: the run's budget once the fleet is
// configured (before, no worker holds a task, and the defaults apply).
func (f *Fleet) uploadLimits() wire.Limits {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.uploadLim == (wire.Limits{}) {
		return wire.DefaultLimits
	}
	return f.uploadLim
}

// SetWeights makes w the weights workers act with and opens the round
// that collects this iteration's fragments with w.Version. Batches of an
// earlier version that arrive later are counted as stale.
func (f *Fleet) SetWeights(_ context.Context, w *policy.Weights) error {
	if w == nil {
		return errors.New("remote fleet: nil weights")
	}
	b, err := w.Encode()
	if err != nil {
		return fmt.Errorf("remote fleet: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return rollout.ErrClosed
	}
	if f.round != nil {
		f.cur.Stale += int64(len(f.round.batches))
		f.total.Stale += int64(len(f.round.batches))
	}
	f.version, f.weights = w.Version, b
	f.round = &round{version: w.Version, needed: f.run.Rollout.Workers, assigned: map[string]string{}, slots: map[string]int{}}
	f.cur = Counters{}
	for id, v := range f.done {
		if v+2 < w.Version {
			delete(f.done, id)
		}
	}
	f.notify()
	return nil
}

// Sample waits (once, bounded by StartTimeout) for MinWorkers to join,
// then until rollout.workers fragments of the current version have been
// accepted, from whichever workers are healthy, bounded by SampleTimeout.
// Each batch's WorkerIndex is its slot, distinct in [0, rollout.workers)
// however many worker processes there are, and its Source the process
// (and env build) that sampled it; the batches are in the order they
// were accepted, so those of one Source in the order they were sampled.
func (f *Fleet) Sample(ctx context.Context) ([]*rollout.SampleBatch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, rollout.ErrClosed
	}
	r := f.round
	if r == nil {
		return nil, errors.New("remote fleet: Sample before SetWeights")
	}
	if !f.started {
		start := time.Now()
		deadline := start.Add(f.cfg.StartTimeout)
		nextLog := start
		for !f.started {
			now := time.Now()
			if now.After(deadline) {
				return nil, fmt.Errorf("remote fleet: %d of rollout.min_workers=%d workers joined in %s", len(f.members), f.cfg.MinWorkers, f.cfg.StartTimeout)
			}
			if !now.Before(nextLog) {
				f.cfg.Logger.Info("waiting for workers", "joined", len(f.members), "min_workers", f.cfg.MinWorkers)
				nextLog = now.Add(10 * time.Second)
			}
			if !f.wait(ctx, min(time.Until(deadline), time.Until(nextLog))) {
				return nil, ctx.Err()
			}
			if f.closed {
				return nil, rollout.ErrClosed
			}
		}
	}
	deadline := time.Now().Add(f.cfg.SampleTimeout)
	for len(r.batches) < r.needed {
		if f.round != r {
			return nil, errors.New("remote fleet: weights changed during Sample")
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, f.timeoutError(r)
		}
		if !f.wait(ctx, left) {
			return nil, ctx.Err()
		}
		if f.closed {
			return nil, rollout.ErrClosed
		}
	}
	f.round = nil
	f.last = f.cur
	// In the order accepted: the batches of one Source in the order
	// they were sampled.
	slices.SortFunc(r.batches, func(a, b accepted) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]*rollout.SampleBatch, len(r.batches))
	for i, a := range r.batches {
		out[i] = a.b
	}
	return out, nil
}

func (f *Fleet) timeoutError(r *round) error {
	what := fmt.Sprintf("%d healthy workers", len(f.members))
	if len(f.members) == 0 {
		what = "no healthy worker: every worker has left or died"
	}
	return fmt.Errorf("remote fleet: sample timeout: %d of %d fragments with weights v%d after %s; %s (restarts %d, dropped %d)",
		len(r.batches), r.needed, r.version, f.cfg.SampleTimeout, what, f.restarts, f.cur.Dropped)
}

// Health reports the healthy workers and the restarts so far.
func (f *Fleet) Health() rollout.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return rollout.Health{
		Workers: len(f.members), Restarts: f.restarts,
		Dropped: f.last.Dropped, Stale: f.last.Stale, Duplicate: f.last.Duplicate, Rejected: f.last.Rejected,
		BytesReceived: f.last.BytesReceived, TransferTimeS: f.last.TransferTime.Seconds(),
	}
}

// Stats reports the fleet's counters.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{Workers: len(f.members), Restarts: f.restarts, Version: f.version, Last: f.last, Total: f.total}
}

// Close ends the run for the workers (their next poll says Done) and
// wakes every waiter. The server keeps serving until Server.Close.
func (f *Fleet) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.notify()
	return nil
}

// drain waits, after Close, until every worker has been told the run
// ended (its next poll), or until d passes.
func (f *Fleet) drain(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	deadline := time.Now().Add(d)
	for len(f.members) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		f.wait(context.Background(), left)
	}
}

// count adds c to the iteration's and the run's counters; f.mu is held.
func (f *Fleet) count(c Counters) {
	f.cur.add(c)
	f.total.add(c)
}

// releaseTask gives up m's task, if it still counts: another worker gets
// it. f.mu is held.
func (f *Fleet) releaseTask(m *member) {
	if m.task == "" {
		return
	}
	if r := f.round; r != nil {
		if owner, ok := r.assigned[m.task]; ok && owner == m.id {
			r.unassign(m.task)
			f.count(Counters{Dropped: 1})
		}
	}
	m.task = ""
}

// remove takes m out of the fleet; dead says it was lost (not replaced
// by its own re-registration). f.mu is held.
func (f *Fleet) remove(m *member, dead bool) {
	f.releaseTask(m)
	delete(f.members, m.id)
	if dead {
		if len(f.gone) >= maxGone {
			for id := range f.gone { // forget one: it can still rejoin, as a new worker
				delete(f.gone, id)
				break
			}
		}
		f.gone[m.id] = true
	}
	f.notify()
}

// maxGone bounds the ids of lost workers remembered, to count their
// return as a restart.
const maxGone = 4096

// reap drops workers that have been silent for WorkerTimeout.
func (f *Fleet) reap(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	silent := 0
	for _, m := range f.members {
		if m.polls == 0 && now.Sub(m.lastSeen) > f.cfg.WorkerTimeout {
			if !m.called {
				// Registered and never called again: no worker that ran,
				// so one line for all of them, and never a restart.
				silent++
				f.remove(m, false)
				continue
			}
			f.cfg.Logger.Warn("worker lost: no heartbeat; its fragment is dropped", "worker", m.id, "index", m.index, "host", m.host, "pid", m.pid, "silent", now.Sub(m.lastSeen).Round(time.Millisecond), "task", m.task)
			f.remove(m, true)
		}
	}
	if silent > 0 {
		f.cfg.Logger.Warn("dropped workers that registered and never called again", "count", silent)
	}
}

// register adds a worker and returns its reply.
func (f *Fleet) register(ctx context.Context, req *RegisterRequest) (*RegisterReply, error) {
	if !f.limiter.allow(peerHost(ctx), time.Now()) {
		return nil, status.Errorf(codes.ResourceExhausted, "too many registrations from this address (%g a second, bursts of %d): retry later", registerRate, registerBurst)
	}
	if req.Protocol != ProtocolVersion {
		return nil, status.Errorf(codes.FailedPrecondition, "worker speaks protocol %d, learner %d: use the same rltrain version", req.Protocol, ProtocolVersion)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for !f.ready && !f.closed {
		if !f.wait(ctx, time.Minute) {
			return nil, status.Error(codes.Unavailable, "learner is still starting")
		}
	}
	if f.closed {
		return nil, status.Error(codes.Unavailable, "the run has ended")
	}
	restart := false
	prevIndex := -1
	if p := req.PreviousID; p != "" {
		if old := f.members[p]; old != nil {
			prevIndex = old.index
			f.remove(old, false)
			restart = true
		} else if f.gone[p] {
			delete(f.gone, p)
			restart = true
		}
	}
	if restart {
		f.restarts++
	}
	f.nextID++
	m := &member{
		id:       fmt.Sprintf("%s-w%d", f.learnerID, f.nextID),
		index:    f.freeIndex(prevIndex),
		host:     truncate(req.Hostname, 256),
		pid:      req.PID,
		lastSeen: time.Now(),
		slot:     -1,
	}
	f.members[m.id] = m
	if !f.started && len(f.members) >= f.cfg.MinWorkers {
		f.started = true
	}
	f.notify()
	f.cfg.Logger.Info("worker joined", "worker", m.id, "index", m.index, "host", m.host, "pid", m.pid, "restart", restart, "workers", len(f.members))
	return &RegisterReply{
		WorkerID:        m.id,
		Index:           m.index,
		Learner:         f.learnerID,
		EnvID:           f.run.EnvID,
		EnvOptionsYAML:  f.optsYAML,
		WrappersYAML:    f.wrappersYAML,
		Metrics:         f.run.Metrics,
		EnvsPerWorker:   f.run.Rollout.EnvsPerWorker,
		FragmentLength:  f.run.Rollout.FragmentLength,
		Seed:            f.run.Seed,
		Columns:         f.columns,
		External:        f.run.External,
		Spec:            f.spec,
		Version:         f.version,
		Weights:         f.weights,
		HeartbeatMillis: f.cfg.HeartbeatInterval.Milliseconds(),
	}, nil
}

// freeIndex returns prefer if no member holds it, else the lowest index
// no member holds. f.mu is held.
func (f *Fleet) freeIndex(prefer int) int {
	used := map[int]bool{}
	for _, m := range f.members {
		used[m.index] = true
	}
	if prefer >= 0 && !used[prefer] {
		return prefer
	}
	for i := 0; ; i++ {
		if !used[i] {
			return i
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// member returns the worker with id, refreshing its liveness, or
// NotFound (the worker must register again). f.mu is held.
func (f *Fleet) member(id string) (*member, error) {
	m := f.members[id]
	if m == nil {
		return nil, status.Errorf(codes.NotFound, "unknown worker %q: register again", truncate(id, 64))
	}
	m.lastSeen, m.called = time.Now(), true
	return m, nil
}

// assign gives m the next task of the round, or "". f.mu is held.
//
// Slots stick to processes: m gets the slot it had last if that is free;
// otherwise the lowest free slot whose last holder is not polling for
// work right now (it left, or is busy elsewhere). So with as many
// processes as fragments each keeps sampling its own slot, and with more
// the extra ones stay spares: the envs that sample a slot go on from
// iteration to iteration, as a local worker's do, instead of rotating
// among processes whose episodes then each advance a third as often.
func (f *Fleet) assign(m *member) string {
	r := f.round
	if r == nil || !f.started || f.closed || len(r.batches)+len(r.assigned) >= r.needed {
		return ""
	}
	slot := -1
	for _, s := range r.freeSlots() {
		if s == m.slot {
			slot = s
			break
		}
		if slot < 0 && !f.claimed(s, m) {
			slot = s
		}
	}
	if slot < 0 {
		return "" // every free slot's own process is polling: it takes it
	}
	f.taskSeq++
	id := fmt.Sprintf("%s.v%d.t%d", f.learnerID, r.version, f.taskSeq)
	r.slots[id] = slot
	r.assigned[id] = m.id
	m.task, m.slot = id, slot
	return id
}

// claimed reports whether another member that last had slot s is
// waiting for work now, and so takes s. f.mu is held.
func (f *Fleet) claimed(s int, m *member) bool {
	for _, o := range f.members {
		if o != m && o.slot == s && o.polls > 0 && o.task == "" {
			return true
		}
	}
	return false
}

// waitWork is the long poll: it returns at once with newer weights or a
// task, or waits until one is there, the run ends, or maxWait passes.
func (f *Fleet) waitWork(ctx context.Context, req *WaitWorkRequest, maxWait time.Duration) (*WaitWorkReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.member(req.WorkerID)
	if err != nil {
		return nil, err
	}
	if d := req.EnvErrors - m.envErrors; d > 0 {
		f.count(Counters{EnvErrors: d})
		m.envErrors = req.EnvErrors
	}
	f.releaseTask(m) // a worker that polls is idle: a task it held is abandoned
	m.polls++
	defer func() { m.polls--; m.lastSeen = time.Now() }()
	deadline := time.Now().Add(maxWait)
	for {
		if f.closed {
			if f.members[m.id] == m {
				f.remove(m, false) // told: the run is over for it
			}
			return &WaitWorkReply{Done: true}, nil
		}
		if f.members[m.id] != m {
			return nil, status.Error(codes.NotFound, "worker was replaced: register again")
		}
		rep := &WaitWorkReply{Version: f.version, TaskID: f.assign(m)}
		if req.HaveVersion != f.version {
			rep.Weights = f.weights
		}
		left := time.Until(deadline)
		if rep.TaskID != "" || rep.Weights != nil || left <= 0 {
			return rep, nil
		}
		if !f.wait(ctx, left) {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// upload judges one uploaded batch, which the codec has already walked
// and decoded: accepted, stale or duplicate.
func (f *Fleet) upload(req *UploadRequest, wireBytes int, transfer time.Duration) (*UploadReply, error) {
	f.mu.Lock()
	if req.decodeErr != nil {
		// Counted whoever sent it; a held task is given to another worker,
		// so the same upload cannot be repeated against it.
		defer f.mu.Unlock()
		return nil, f.reject(req, req.decodeErr)
	}
	m, err := f.member(req.WorkerID)
	if err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.count(Counters{BytesReceived: int64(wireBytes), TransferTime: transfer})
	verdict, r := f.judge(m, req.TaskID)
	f.mu.Unlock()
	if verdict != "" {
		return &UploadReply{Status: verdict}, nil
	}

	// Check outside the lock: a pass over every value.
	b, err := req.Batch, req.decodeErr
	switch {
	case err != nil:
	case b == nil:
		err = errors.New("no batch")
	default:
		if err = b.Validate(); err == nil {
			err = f.checkBatch(b)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		return nil, f.reject(req, err)
	}
	if !f.fresh(b.WeightsVersion, r.version) {
		f.count(Counters{Stale: 1})
		return &UploadReply{Status: Stale}, nil
	}
	if verdict, r2 := f.judge(m, req.TaskID); verdict != "" || r2 != r {
		if verdict == "" {
			verdict = Stale
			f.count(Counters{Stale: 1})
		}
		return &UploadReply{Status: verdict}, nil
	}
	// The slot the task was given for, and the env stream it continues:
	// the process, and how many times it rebuilt its envs after a failure.
	b.ID, b.WorkerIndex, b.Source = req.TaskID, r.slots[req.TaskID], fmt.Sprintf("%s#%d", m.id, m.envErrors)
	for i := range b.Episodes {
		b.Episodes[i].Worker = b.WorkerIndex
	}
	r.unassign(req.TaskID)
	if m.task == req.TaskID {
		m.task = ""
	}
	f.done[req.TaskID] = r.version
	f.taskSeq++
	r.batches = append(r.batches, accepted{b: b, seq: f.taskSeq})
	f.count(Counters{Fragments: 1})
	f.notify()
	return &UploadReply{Status: Accepted}, nil
}

// reject counts a rejected upload, takes its task from its worker if it
// held it (another worker gets it: Sample does not wait for a worker
// that sent garbage) and returns InvalidArgument. f.mu is held.
func (f *Fleet) reject(req *UploadRequest, err error) error {
	f.count(Counters{Rejected: 1})
	if m := f.members[req.WorkerID]; m != nil && req.TaskID != "" {
		if r := f.round; r != nil && r.assigned[req.TaskID] == m.id {
			r.unassign(req.TaskID)
			f.notify()
		}
		if m.task == req.TaskID {
			m.task = ""
		}
	}
	return status.Errorf(codes.InvalidArgument, "batch for task %s: %v", truncate(req.TaskID, 64), err)
}

// fresh reports whether a batch acted with weights version v counts for
// a round of version cur: v is not newer than cur and at most
// MaxStaleness versions older (exactly cur for PPO).
func (f *Fleet) fresh(v, cur uint64) bool {
	return v <= cur && cur-v <= f.stale
}

// judge returns Duplicate or Stale (counted) if the task no longer counts
// for m, else "" and the round it belongs to. f.mu is held.
func (f *Fleet) judge(m *member, task string) (UploadStatus, *round) {
	if _, ok := f.done[task]; ok {
		f.count(Counters{Duplicate: 1})
		return Duplicate, nil
	}
	r := f.round
	if r == nil || r.assigned[task] != m.id {
		if m.task == task {
			m.task = ""
		}
		f.count(Counters{Stale: 1})
		return Stale, nil
	}
	return "", r
}

// checkBatch checks what SampleBatch.Validate cannot know: the shapes
// and columns of this run, actions in range and finite numbers, so that
// nothing a worker sends can crash or poison the learner.
func (f *Fleet) checkBatch(b *rollout.SampleBatch) error {
	if c := b.Columns.Resolve(); c != f.columns {
		return fmt.Errorf("columns %v, want %v", c, f.columns)
	}
	if b.NumEnvs != f.run.Rollout.EnvsPerWorker || b.Steps != f.run.Rollout.FragmentLength || b.ObsDim != f.spec.ObsDim() {
		return fmt.Errorf("shape steps=%d envs=%d obs_dim=%d, want %d, %d, %d", b.Steps, b.NumEnvs, b.ObsDim,
			f.run.Rollout.FragmentLength, f.run.Rollout.EnvsPerWorker, f.spec.ObsDim())
	}
	if b.ActionDim != f.spec.ActionDim() {
		return fmt.Errorf("action_dim %d, want %d", b.ActionDim, f.spec.ActionDim())
	}
	// Observation statistics: exactly the fragment's observations when the
	// run normalises them (an inflated count would swamp the fleet's), none otherwise.
	if _, norm := rollout.ObsNormWrapper(f.run.Wrappers); norm != (b.ObsStats != nil) {
		return fmt.Errorf("observation statistics present = %v, want %v (normalize_observation)", b.ObsStats != nil, norm)
	}
	if b.ObsStats != nil && b.ObsStats.Count != float64(b.Len()) {
		return fmt.Errorf("observation statistics of %v observations, want %d", b.ObsStats.Count, b.Len())
	}
	for i, a := range b.Actions {
		if a < 0 || int(a) >= f.spec.NumActions() {
			return fmt.Errorf("action %d at index %d is outside [0, %d)", a, i, f.spec.NumActions())
		}
	}
	for _, e := range b.Episodes {
		if len(e.Metrics) != len(f.run.Metrics) {
			return fmt.Errorf("episode with %d custom metrics, want %d", len(e.Metrics), len(f.run.Metrics))
		}
		for _, v := range e.Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errors.New("non-finite custom metric")
			}
		}
	}
	cols := [][]float32{b.Obs, b.Rewards, b.LogProbs, b.Values, b.BootstrapValues, b.LastObs, b.LastValues, b.ContinuousActions}
	for _, fo := range b.FinalObs {
		cols = append(cols, fo.Obs)
	}
	for _, c := range cols {
		for _, x := range c {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return errors.New("non-finite value")
			}
		}
	}
	for _, e := range b.Episodes {
		if e.Env < 0 || e.Env >= b.NumEnvs || e.Step < 0 || e.Step >= b.Steps || e.Length < 0 || math.IsNaN(e.Return) || math.IsInf(e.Return, 0) {
			return fmt.Errorf("episode statistics %+v out of range", e)
		}
	}
	return nil
}

// deregister drops a worker that is leaving; its task, if it held one,
// goes to another worker now. A leaving worker is no lost one: its
// return with the same id is not a restart.
func (f *Fleet) deregister(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.members[id]
	if m == nil {
		return
	}
	f.cfg.Logger.Info("worker left", "worker", m.id, "index", m.index, "host", m.host, "pid", m.pid, "task", m.task, "workers", len(f.members)-1)
	f.remove(m, false)
}

// heartbeat keeps a worker alive.
func (f *Fleet) heartbeat(req *HeartbeatRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.member(req.WorkerID)
	return err
}

// hostname is os.Hostname or "unknown".
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
