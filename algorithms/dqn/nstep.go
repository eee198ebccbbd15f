package dqn

import "github.com/rlgo/rlgo/rollout"

// nStepQueue turns one env's steps into n-step transitions (Sutton 1988;
// Hessel et al. 2018, eq. 2):
//
//	R_t^(n) = Σ_{k=0}^{n−1} γ^k·r_{t+k},   y_t = R_t^(n) + γ^n·max_a Q'(s_{t+n}, a)
//
// It holds the env's last (at most n) steps across fragments. When an
// episode ends after k < n steps, each pending step gets the rewards up to
// the end; a terminated episode does not bootstrap (coefficient 0), a
// truncated one bootstraps from its final observation with γ^k (Pardo et
// al. 2018: a time limit is not a terminal state).
type nStepQueue struct {
	n, obsDim int
	gamma     float32
	obs       []float32 // ring of n observations
	actions   []int32
	rewards   []float32
	head, len int
}

func newNStepQueue(n, obsDim int, gamma float64) nStepQueue {
	return nStepQueue{n: n, obsDim: obsDim, gamma: float32(gamma),
		obs: make([]float32, n*obsDim), actions: make([]int32, n), rewards: make([]float32, n)}
}

// step records one step (s, a, r) and the observation after it (the
// final observation if the step ended the episode), writing every
// transition that is now complete into buf.
func (q *nStepQueue) step(buf *Replay, per *Prioritized, obs []float32, action int32, reward float32, nextObs []float32, terminated, truncated bool) {
	slot := (q.head + q.len) % q.n
	copy(q.obs[slot*q.obsDim:(slot+1)*q.obsDim], obs)
	q.actions[slot], q.rewards[slot] = action, reward
	q.len++
	if terminated || truncated {
		for q.len > 0 {
			q.emit(buf, per, nextObs, terminated)
		}
		return
	}
	if q.len == q.n {
		q.emit(buf, per, nextObs, false)
	}
}

// emit writes the oldest pending step's transition, whose return sums the
// rewards of every pending step, and drops it.
func (q *nStepQueue) emit(buf *Replay, per *Prioritized, nextObs []float32, terminated bool) {
	var ret float32
	discount := float32(1)
	for k := 0; k < q.len; k++ {
		ret += discount * q.rewards[(q.head+k)%q.n]
		discount *= q.gamma
	}
	if terminated {
		discount = 0
	}
	h := q.head
	slot := buf.Add(q.obs[h*q.obsDim:(h+1)*q.obsDim], q.actions[h], ret, nextObs, discount)
	if per != nil {
		per.Added(slot)
	}
	q.head = (q.head + 1) % q.n
	q.len--
}

// store feeds a fragment's steps, time-major, into its envs' queues. The
// observation after step t is Obs at t+1, the final observation where
// step t ended an episode, and LastObs after the fragment's last step.
func (d *DQN) store(b *rollout.SampleBatch, queues []nStepQueue) {
	T, N, D := b.Steps, b.NumEnvs, b.ObsDim
	final := 0 // b.FinalObs is in index order
	for t := 0; t < T; t++ {
		for i := 0; i < N; i++ {
			k := t*N + i
			var next []float32
			switch {
			case final < len(b.FinalObs) && b.FinalObs[final].Index == k:
				next = b.FinalObs[final].Obs
				final++
			case t == T-1:
				next = b.LastObs[i*D : (i+1)*D]
			default:
				next = b.Obs[(k+N)*D : (k+N+1)*D]
			}
			queues[i].step(d.replay, d.per, b.Obs[k*D:(k+1)*D], b.Actions[k], b.Rewards[k], next, b.Terminated[k], b.Truncated[k])
		}
	}
}
