package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the name of the lock file every run holds in its run
// directory while it runs (see Lock).
const LockFile = ".rltrain.lock"

// NotEmptyError is returned by Run for a new run (not Options.Resume)
// whose run directory already holds files: a previous run's, or anything
// else. Writing there would overwrite them and mix two runs' checkpoints.
// rltrain maps it to exit code 2.
type NotEmptyError struct {
	// Dir is the run directory.
	Dir string
	// IsRun reports that Dir holds a run (config.yaml or progress.csv).
	IsRun bool
}

func (e *NotEmptyError) Error() string {
	if e.IsRun {
		return fmt.Sprintf("run directory %s already holds a run: continue it with --resume %s, or give another --out DIR", e.Dir, e.Dir)
	}
	return fmt.Sprintf("run directory %s is not empty and holds no run: give an empty or new --out DIR (or --resume a run directory)", e.Dir)
}

// LockedError is returned when another process holds a run directory's
// lock: two processes writing one run directory would interleave its
// progress rows and checkpoints.
type LockedError struct {
	// Dir is the run directory (or s3:// location).
	Dir string
	// Holder describes the holder: "pid 1234" or "host h pid 1234".
	Holder string
	// Detail says more, where there is more to say (a lease's age).
	Detail string
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("run directory %s is in use by another rltrain (%s)", e.Dir, e.Holder)
	if e.Detail != "" {
		msg += "; " + e.Detail
	}
	return msg + ": wait for it to end, or stop it first"
}

// checkEmpty returns a *NotEmptyError when dir holds anything but its
// lock file.
func checkEmpty(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	for _, e := range ents {
		if e.Name() == LockFile {
			continue
		}
		return &NotEmptyError{Dir: dir, IsRun: IsRunDir(dir)}
	}
	return nil
}

// IsRunDir reports whether dir holds a run: a config.yaml or a progress.csv.
func IsRunDir(dir string) bool {
	for _, f := range []string{"config.yaml", "progress.csv"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// DirLock is an exclusive lock on a run directory (Lock).
type DirLock struct {
	f *os.File
}

// Lock takes the exclusive lock of run directory dir (created if
// missing): an flock on dir/.rltrain.lock, which holds the holder's pid.
// The kernel releases it when the holder exits, however it exits, so a
// crashed run leaves no stale lock. A held lock is a *LockedError naming
// the holder's pid. Run takes it; Go code that writes a run directory
// itself can too.
func Lock(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if held {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := "pid unknown"
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			holder = fmt.Sprintf("pid %d", pid)
		}
		return nil, &LockedError{Dir: dir, Holder: holder}
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock. The lock file stays (removing it could race
// with a process that just opened it); it is not part of the run.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
