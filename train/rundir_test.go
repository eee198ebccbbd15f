package train

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/train/config"
)

func tinyConfig(t *testing.T, iterations int) *config.Config {
	t.Helper()
	cfg, err := config.Parse("tiny.yaml", []byte(fmt.Sprintf("name: tiny\nenv: {id: CartPole-v1}\nstop: {iterations: %d}\nrollout: {workers: 1, envs_per_worker: 1, fragment_length: 16}\ncheckpoint: {every: 1, keep: 2}\n", iterations)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &cfg.Config
}

// TestNewRunRefusesNonEmptyDir: a new run into a directory that holds
// anything (a previous run, or other files) fails before it writes a
// byte there, and says to use --resume or another directory.
func TestNewRunRefusesNonEmptyDir(t *testing.T) {
	t.Run("other files", func(t *testing.T) {
		dir := t.TempDir()
		notes := filepath.Join(dir, "notes.txt")
		old := filepath.Join(dir, "checkpoints", "iter-000001", "metadata.json")
		for _, p := range []string{notes, old} {
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := RunConfig(context.Background(), tinyConfig(t, 2), Options{Out: dir})
		var ne *NotEmptyError
		if !errors.As(err, &ne) || ne.IsRun || ne.Dir != dir {
			t.Fatalf("run into a non-empty directory: %v; want a *NotEmptyError that is not a run", err)
		}
		for _, p := range []string{notes, old} {
			if b, err := os.ReadFile(p); err != nil || string(b) != "mine" {
				t.Errorf("%s: %q, %v; want it untouched", p, b, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
			t.Error("config.yaml was written")
		}
	})
	t.Run("a previous run", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := RunConfig(context.Background(), tinyConfig(t, 3), Options{Out: dir}); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
		_, err := RunConfig(context.Background(), tinyConfig(t, 1), Options{Out: dir})
		var ne *NotEmptyError
		if !errors.As(err, &ne) || !ne.IsRun || !strings.Contains(err.Error(), "--resume "+dir) {
			t.Fatalf("second run into a run directory: %v; want a *NotEmptyError saying --resume", err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
		if string(before) != string(after) {
			t.Error("the refused run changed progress.csv")
		}
		// Resuming it is what the message says to do, and works.
		if _, err := RunConfig(context.Background(), tinyConfig(t, 5), Options{Out: dir, Resume: true}); err != nil {
			t.Fatalf("resume: %v", err)
		}
	})
	t.Run("empty or missing", func(t *testing.T) {
		for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "new")} {
			if _, err := RunConfig(context.Background(), tinyConfig(t, 1), Options{Out: dir}); err != nil {
				t.Errorf("run into %s: %v", dir, err)
			}
		}
	})
}

// TestRunDirLock: while one process holds a run directory, a second run
// of it fails naming the holder's pid; the lock goes with its holder.
func TestRunDirLock(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunConfig(context.Background(), tinyConfig(t, 1), Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	held, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunConfig(context.Background(), tinyConfig(t, 3), Options{Out: dir, Resume: true})
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("resume of a locked run directory: %v; want a *LockedError naming pid %d", err, os.Getpid())
	}
	held.Unlock()
	if _, err := RunConfig(context.Background(), tinyConfig(t, 3), Options{Out: dir, Resume: true}); err != nil {
		t.Fatalf("resume after the holder let go: %v", err)
	}
	// Run released it on return.
	l, err := Lock(dir)
	if err != nil {
		t.Fatalf("lock after the run: %v", err)
	}
	l.Unlock()
}

// TestRunDirLockStaleAfterCrash: a holder killed with SIGKILL leaves no
// lock behind (flock dies with its process).
func TestRunDirLockStaleAfterCrash(t *testing.T) {
	if dir := os.Getenv("RLGO_TEST_LOCK_HOLDER"); dir != "" {
		if _, err := Lock(dir); err != nil {
			fmt.Println("lock:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute) // killed before this ends
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunDirLockStaleAfterCrash$")
	cmd.Env = append(os.Environ(), "RLGO_TEST_LOCK_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), "locked") {
		cmd.Process.Kill()
		t.Fatalf("holder said %q", buf[:n])
	}
	_, err = Lock(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != fmt.Sprintf("pid %d", cmd.Process.Pid) {
		t.Errorf("lock held by a live process: %v; want a *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Lock(dir)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	l.Unlock()
}
