package remote

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/rollout"
)

// workerProc is a real worker process: this test binary re-executed with
// workerProcessEnv set (TestMain then runs RunWorker instead of tests).
type workerProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startWorkerProc(t *testing.T, addr string) *workerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerProcessEnv+"="+addr)
	p := &workerProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("worker pid %d stderr:\n%s", cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

// holdsTask reports whether the worker process with pid holds a task.
func (f *Fleet) holdsTask(pid int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.members {
		if m.pid == pid && m.task != "" {
			return true
		}
	}
	return false
}

// TestProcessesFaultTolerance runs a learner (this process) and worker
// processes on loopback through the failures of design.md: a worker
// killed mid-fragment, a worker stopped mid-fragment, a restarted worker
// rejoining, and a learner restart the workers survive on their own.
func TestProcessesFaultTolerance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	run := Run{
		EnvID:      "rlgo-test/SlowCartPole-v0",
		EnvOptions: envs.Options{"sleep_ms": 2.0},
		Rollout:    rollout.Config{Workers: 2, EnvsPerWorker: 2, FragmentLength: 32}, // ~130 ms a fragment
		Seed:       3,
	}
	cfg := fastConfig()
	cfg.HeartbeatInterval = 250 * time.Millisecond
	cfg.WorkerTimeout = time.Second
	cfg.MinWorkers = 2
	s, err := Listen(cfg, run)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	addr := s.Addr().String()
	spec := cartPoleSpec()
	f, err := s.Fleet(spec, initWeights(spec, 1))
	if err != nil {
		t.Fatal(err)
	}
	a, b := startWorkerProc(t, addr), startWorkerProc(t, addr)
	v := uint64(0)
	next := func() []*rollout.SampleBatch { v++; return iterate(t, f, run, spec, v) }
	for range 3 {
		next()
	}

	// kill -9 of a worker holding a fragment: the iteration completes
	// with the other worker, bounded by WorkerTimeout.
	w := spec.Init(envs.NewRand(99, 3))
	v++
	w.Version = v
	f.SetWeights(t.Context(), w)
	eventually(t, 5*time.Second, "worker a takes a task", func() bool { return f.holdsTask(a.cmd.Process.Pid) })
	a.cmd.Process.Signal(syscall.SIGKILL)
	batches, took, err := sampleWithin(f, 20*time.Second)
	if err != nil {
		t.Fatalf("Sample after kill -9: %v", err)
	}
	if limit := cfg.WorkerTimeout + 3*time.Second; took > limit {
		t.Errorf("Sample after kill -9 took %s; want ≤ %s", took, limit)
	}
	for _, bt := range batches {
		if bt.WeightsVersion != v {
			t.Errorf("batch %s acted with v%d; want v%d", bt.ID, bt.WeightsVersion, v)
		}
	}
	if st := f.Stats(); st.Workers != 1 || st.Last.Dropped < 1 {
		t.Errorf("after kill -9: Stats() = %+v; want 1 worker, its fragment dropped", st)
	}
	next() // one worker does both fragments

	// A new worker process joins in its place: its batches count, and it
	// is no restart (issue 13: only a lost worker that comes back is).
	c := startWorkerProc(t, addr)
	eventually(t, 10*time.Second, "new worker joins", func() bool { return f.Stats().Workers == 2 })
	if st := f.Stats(); st.Restarts != 0 {
		t.Errorf("after a new process: Restarts = %d; want 0", st.Restarts)
	}
	seen := map[int]bool{}
	for range 4 {
		for _, bt := range next() {
			seen[bt.WorkerIndex] = true
		}
	}
	if len(seen) != 2 {
		t.Errorf("fragments came from worker indexes %v; want both workers", seen)
	}

	// SIGSTOP: the stopped worker is dropped within the timeout; after
	// SIGCONT its late batch is discarded and it registers again.
	v++
	w.Version = v
	f.SetWeights(t.Context(), w)
	eventually(t, 5*time.Second, "worker c takes a task", func() bool { return f.holdsTask(c.cmd.Process.Pid) })
	c.cmd.Process.Signal(syscall.SIGSTOP)
	waitStopped(t, c.cmd.Process.Pid)
	_, took, err = sampleWithin(f, 20*time.Second)
	c.cmd.Process.Signal(syscall.SIGCONT)
	if err != nil {
		t.Fatalf("Sample after SIGSTOP: %v", err)
	}
	if limit := cfg.WorkerTimeout + 3*time.Second; took > limit {
		t.Errorf("Sample after SIGSTOP took %s; want ≤ %s", took, limit)
	}
	eventually(t, 10*time.Second, "stopped worker registers again", func() bool { return f.Stats().Workers == 2 })
	next()
	if st := f.Stats(); st.Total.Duplicate != 0 || st.Restarts != 1 {
		t.Errorf("Stats() = %+v; want no duplicates, 1 restart (the stopped worker back with its id)", st)
	}

	// The learner dies and comes back on the same address: the workers
	// reconnect on their own.
	s.Kill()
	cfg.Listen = addr
	s2, err := Listen(cfg, run)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	s = s2
	f2, err := s2.Fleet(spec, initWeights(spec, 1))
	if err != nil {
		t.Fatal(err)
	}
	f, v = f2, 0
	for range 3 {
		next()
	}
	eventually(t, 10*time.Second, "both workers back", func() bool { return f.Stats().Workers == 2 })

	// The run ends: workers are told and exit 0.
	s.Close()
	for _, p := range []*workerProc{b, c} {
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("worker pid %d exited with %v; want 0", p.cmd.Process.Pid, err)
			}
			p.done <- err
		case <-time.After(10 * time.Second):
			t.Errorf("worker pid %d did not exit after the run ended", p.cmd.Process.Pid)
		}
	}
}

// waitStopped waits until every thread of pid is stopped: kill(SIGSTOP)
// returns before the group stop completes (the signal waits for one
// thread to be scheduled and take it, and until then the others run), so
// on a loaded machine a "stopped" worker could still upload its batch.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "stat"))
		stopped := len(stats) > 0
		for _, f := range stats {
			b, err := os.ReadFile(f)
			// The state is the field after the ")" that ends the name.
			i := bytes.LastIndexByte(b, ')')
			if err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
				stopped = false
				break
			}
		}
		if stopped {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not stopped 10 s after SIGSTOP", pid)
		}
		time.Sleep(time.Millisecond)
	}
}
