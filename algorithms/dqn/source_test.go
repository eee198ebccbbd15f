package dqn

import (
	"testing"

	"github.com/rlgo/rlgo/rollout"
)

// TestQueuesFollowSource checks that a remote fleet's batches continue the
// n-step queues of their Source (the worker process), not of their slot:
// two processes sampling slot 0 in turn keep their own pending steps.
func TestQueuesFollowSource(t *testing.T) {
	cfg, setup := smallConfig(1)
	cfg.NStep = 3
	d, err := New(cfg, setup)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	n := setup.WithDefaults().Rollout.EnvsPerWorker
	a := &rollout.SampleBatch{ID: "a", WorkerIndex: 0, NumEnvs: n, Source: "worker-a/0"}
	b := &rollout.SampleBatch{ID: "b", WorkerIndex: 0, NumEnvs: n, Source: "worker-b/0"}
	qa, err := d.queues(a)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := d.queues(b)
	if err != nil {
		t.Fatal(err)
	}
	if &qa[0] == &qb[0] {
		t.Fatal("two sources in one slot share their n-step queues")
	}
	qa[0].len = 2 // steps pending in process a's first env
	again, _ := d.queues(a)
	if &again[0] != &qa[0] || again[0].len != 2 {
		t.Error("a source's next batch does not continue its own queues")
	}
	local, err := d.queues(&rollout.SampleBatch{ID: "l", WorkerIndex: 0, NumEnvs: n})
	if err != nil || &local[0] != &d.nstep[0] {
		t.Errorf("a local batch (no Source) = %v; want worker 0's queues", err)
	}
	if _, err := d.queues(&rollout.SampleBatch{ID: "x", WorkerIndex: 0, NumEnvs: n + 1, Source: "s"}); err == nil {
		t.Error("a batch with the wrong number of envs was accepted")
	}
}
