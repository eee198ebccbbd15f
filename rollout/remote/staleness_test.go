package remote

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/rollout"
)

// withVersion returns b stamped as if acted with weights version v.
func withVersion(b *rollout.SampleBatch, v uint64) *rollout.SampleBatch {
	b.WeightsVersion = v
	return b
}

// TestStalenessBound: with FleetSpec.MaxStaleness k (DQN's
// dqn.max_staleness), an iteration of version v accepts a fragment acted
// with v−k and counts one acted with v−k−1, or with a version newer than
// v, as stale.
func TestStalenessBound(t *testing.T) {
	const k, v = 3, 10
	run := cartPoleRun()
	run.Rollout.Workers = 2
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, err := s.FleetFor(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec), MaxStaleness: k}, initWeights(spec, v))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.SetWeights(ctx, initWeights(spec, v)); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	type result struct {
		b   []*rollout.SampleBatch
		err error
	}
	sampled := make(chan result, 1)
	go func() { b, err := f.Sample(ctx); sampled <- result{b, err} }()

	for _, c := range []struct {
		version uint64
		want    UploadStatus
	}{
		{v - k - 1, Stale},
		{v + 1, Stale},
		{v - k, Accepted},
		{v, Accepted},
	} {
		task := fw.task()
		if got, err := fw.upload(task, withVersion(fw.sample(), c.version)); err != nil || got != c.want {
			t.Errorf("UploadBatch(v%d batch, iteration v%d, bound %d) = %v, %v; want %v", c.version, v, k, got, err, c.want)
		}
	}
	r := <-sampled
	if r.err != nil || len(r.b) != 2 {
		t.Fatalf("Sample = %d batches, %v; want 2", len(r.b), r.err)
	}
	if r.b[0].WeightsVersion != v-k || r.b[1].WeightsVersion != v {
		t.Errorf("Sample versions = v%d, v%d; want v%d, v%d", r.b[0].WeightsVersion, r.b[1].WeightsVersion, v-k, v)
	}
	if st := f.Stats(); st.Last.Stale != 2 || st.Last.Fragments != 2 {
		t.Errorf("Stats().Last = %+v; want 2 stale, 2 fragments", st.Last)
	}
}

// TestQPolicySpec: a fleet for DQN's ε-greedy Q-network sends its spec
// in the Register reply, and the worker's policy acts with it.
func TestQPolicySpec(t *testing.T) {
	s := startBuf(t, fastConfig(), cartPoleRun())
	q := policy.QSpec{ObsDim: 4, NumActions: 2, Model: policy.ModelConfig{Hidden: []int{8}, Activation: policy.Tanh}, Dueling: true}
	w := q.Init(envs.NewRand(1, 2))
	w.Version = 1
	w.Explore.Epsilon = 0.25
	if _, err := s.FleetFor(rollout.FleetSpec{Policy: rollout.QPolicy(q), MaxStaleness: 4}, w); err != nil {
		t.Fatal(err)
	}
	reg, err := invoke[RegisterReply](context.Background(), s.conn(t), methodRegister, &RegisterRequest{Protocol: ProtocolVersion}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Spec.Kind != rollout.PolicyQ || !reg.Spec.Q.Dueling || reg.Spec.ObsDim() != 4 || reg.Spec.NumActions() != 2 {
		t.Fatalf("RegisterReply.Spec = %+v; want the Q spec", reg.Spec)
	}
	rw, err := policy.UnmarshalWeights(reg.Weights)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := rollout.NewPolicy(reg.Spec, rw)
	if err != nil {
		t.Fatal(err)
	}
	if eg, ok := pol.(*policy.EpsilonGreedy); !ok || eg.Epsilon() != 0.25 {
		t.Fatalf("NewPolicy = %T; want *policy.EpsilonGreedy with ε 0.25", pol)
	}
	if _, err := rollout.NewPolicy(rollout.PolicySpec{Kind: "nope"}, rw); err == nil {
		t.Error("NewPolicy(kind nope) = nil error")
	}
}

// TestColumnsReachWorkers: the columns an algorithm declares in its
// FleetSpec reach the workers, which compute only those, and the learner
// refuses a batch with other columns.
func TestColumnsReachWorkers(t *testing.T) {
	const cols = rollout.ColFinalObs | rollout.ColLastObs // DQN's
	run := cartPoleRun()
	run.Rollout.Workers = 1
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, err := s.FleetFor(rollout.FleetSpec{Policy: rollout.ActorCriticPolicy(spec), Columns: cols}, initWeights(spec, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.SetWeights(ctx, initWeights(spec, 1)); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	if fw.reg.Columns != cols {
		t.Fatalf("RegisterReply.Columns = %v; want %v", fw.reg.Columns, cols)
	}
	task := fw.task()
	full := fw.sample()
	full.Columns, full.Values, full.LogProbs = cols|rollout.ColValues|rollout.ColLogProbs, make([]float32, full.Len()), make([]float32, full.Len())
	if _, err := fw.upload(task, full); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "columns") {
		t.Errorf("UploadBatch(batch with more columns) = %v; want InvalidArgument naming the columns", err)
	}
	b := fw.sample()
	if b.Columns != cols || b.Values != nil || b.LogProbs != nil || b.LastObs == nil {
		t.Fatalf("the worker's batch has columns %v (values %d, logp %d, last_obs %d); want %v", b.Columns, len(b.Values), len(b.LogProbs), len(b.LastObs), cols)
	}
	task = fw.task() // the rejected upload's task was taken away
	uploaded := make(chan struct{})
	go func() {
		defer close(uploaded)
		if got, err := fw.upload(task, b); err != nil || got != Accepted {
			t.Errorf("UploadBatch = %v, %v; want accepted", got, err)
		}
	}()
	bs, _, err := sampleWithin(f, 5*time.Second)
	<-uploaded
	if err != nil || len(bs) != 1 || bs[0].Columns != cols {
		t.Fatalf("Sample = %d batches, %v; want 1 with columns %v", len(bs), err, cols)
	}
}
