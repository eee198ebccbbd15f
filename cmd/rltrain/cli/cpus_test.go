package cli

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
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
	restore, err := withCPUs(fmtInt(first))
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
	// A thread started now inherits the set.
	done := make(chan []int)
	go func() {
		runtime.LockOSThread() // a fresh thread once this one exits
		done <- threadCPUs(t)
	}()
	if got := <-done; !reflect.DeepEqual(got, []int{first}) {
		t.Errorf("a new thread runs on %v; want [%d]", got, first)
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
