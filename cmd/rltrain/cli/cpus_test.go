package cli

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCPUs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"0,2", []int{0, 2}},
		{"3-5", []int{3, 4, 5}},
		{" 1 , 0-1,7", []int{0, 1, 7}},
	} {
		got, err := parseCPUs(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCPUs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a", "-1", "2-1", "0,,1", "1-", "0-99999"} {
		if got, err := parseCPUs(bad); err == nil {
			t.Errorf("parseCPUs(%q) = %v; want an error", bad, got)
		}
	}
}

// TestWithCPUs: --cpus pins every thread and sets GOMAXPROCS to the
// number of CPUs, and its restore undoes both; a CPU the process may not
// use is a usage error that changes nothing.
func TestWithCPUs(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := withCPUs("0"); err == nil {
			t.Fatal("withCPUs on a non-Linux system: want an error")
		}
		return
	}
	allowed := threadCPUs(t)
	procs := runtime.GOMAXPROCS(0)
	first := allowed[0]
	restore, err := withCPUs(strconv.Itoa(first))
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS = %d with one CPU; want 1", got)
	}
	for tid, cpus := range allThreadCPUs(t) {
		if !reflect.DeepEqual(cpus, []int{first}) {
			t.Errorf("thread %d runs on %v; want [%d]", tid, cpus, first)
		}
	}
	// A goroutine locked to whichever thread it got (one the runtime
	// may have started since) runs on the set too.
	done := make(chan []int)
	go func() {
		runtime.LockOSThread() // ends with the goroutine: the thread exits
		done <- threadCPUs(t)
	}()
	if got := <-done; !reflect.DeepEqual(got, []int{first}) {
		t.Errorf("a locked goroutine's thread runs on %v; want [%d]", got, first)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS after restore = %d; want %d", got, procs)
	}
	if got := threadCPUs(t); !reflect.DeepEqual(got, allowed) {
		t.Errorf("after restore the thread runs on %v; want %v", got, allowed)
	}

	_, err = withCPUs("65000")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != ExitUsage {
		t.Fatalf("withCPUs(65000) = %v; want a usage error", err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS after a refused --cpus = %d; want %d", got, procs)
	}
}

// TestCPUsFlag: rltrain train and learner take --cpus, and a bad list is
// a usage error naming the flag before any config is read.
func TestCPUsFlag(t *testing.T) {
	for _, cmd := range []string{"train", "learner"} {
		// Without the check a learner would wait for workers: the
		// deadline makes that a failure, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out := filepath.Join(t.TempDir(), "run")
		code, _, stderr := run(t, ctx, cmd, shipped, "--out", out, "--cpus", "0-x")
		cancel()
		if code != ExitUsage || !strings.Contains(stderr, `--cpus "0-x"`) {
			t.Errorf("rltrain %s --cpus 0-x = %d, %q; want %d and an error naming --cpus", cmd, code, stderr, ExitUsage)
		}
	}
}
