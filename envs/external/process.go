package external

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// Environment variables a supervised server reads.
const (
	// SocketEnv holds the Unix socket path the server must listen on.
	SocketEnv = "RLGO_ENV_SOCKET"
	// NumEnvsEnv holds the number of envs the server must serve.
	NumEnvsEnv = "RLGO_ENV_NUM_ENVS"
	// ParentPIDEnv holds the supervisor's process id: a server may exit
	// when its parent is gone.
	ParentPIDEnv = "RLGO_ENV_PARENT_PID"
)

// tailLines is how many of a process's last output lines an error quotes.
const tailLines = 20

// Process is a supervised env server process: started with a Unix socket
// to listen on, its output logged line by line with a prefix, killed and
// started anew by Restart. Its methods are safe for concurrent use.
type Process struct {
	argv []string
	opts Options
	dir  string // temporary directory of the socket

	mu     sync.Mutex
	gen    int // starts so far
	sock   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	cc     *grpc.ClientConn
	tail   []string // last output lines
	closed bool
}

// StartProcess starts command as an env server serving opts.NumEnvs envs
// and waits until it answers (at most opts.StartTimeout). The process gets
// RLGO_ENV_SOCKET, RLGO_ENV_NUM_ENVS and RLGO_ENV_PARENT_PID in its
// environment.
func StartProcess(ctx context.Context, command []string, opts Options) (*Process, error) {
	if len(command) == 0 || command[0] == "" {
		return nil, errors.New("external env: empty command")
	}
	if opts.NumEnvs <= 0 {
		return nil, fmt.Errorf("external env: NumEnvs = %d: want at least 1", opts.NumEnvs)
	}
	opts = opts.withDefaults()
	dir, err := socketDir()
	if err != nil {
		return nil, err
	}
	p := &Process{argv: append([]string(nil), command...), opts: opts, dir: dir}
	if err := p.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// socketDir makes a private directory for the socket, short enough for a
// Unix socket path (108 bytes on Linux).
func socketDir() (string, error) {
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "rlgo-env-")
	if err != nil {
		return "", fmt.Errorf("external env: socket directory: %w", err)
	}
	return dir, nil
}

// Pid returns the process id of the current server process.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Socket returns the Unix socket path of the current server process.
func (p *Process) Socket() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sock
}

func (p *Process) prefix(pid int) string {
	if p.opts.LogPrefix != "" {
		return p.opts.LogPrefix
	}
	id := p.opts.EnvID
	if id == "" {
		id = filepath.Base(p.argv[0])
	}
	return fmt.Sprintf("env %s [pid %d]: ", id, pid)
}

// start launches the process (p.mu not held) and waits until it answers.
func (p *Process) start(ctx context.Context) error {
	p.mu.Lock()
	p.gen++
	sock := filepath.Join(p.dir, "env-"+strconv.Itoa(p.gen)+".sock")
	p.sock = sock
	p.tail = nil
	p.mu.Unlock()

	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.opts.Dir
	cmd.Env = append(os.Environ(),
		SocketEnv+"="+sock,
		NumEnvsEnv+"="+strconv.Itoa(p.opts.NumEnvs),
		ParentPIDEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Env = append(cmd.Env, p.opts.Env...)
	// Its own process group: a kill reaches the children it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("external env: output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("external env: start %q: %w", strings.Join(p.argv, " "), err)
	}
	w.Close()
	exited := make(chan struct{})
	logged := make(chan struct{})
	go p.copyOutput(r, p.prefix(cmd.Process.Pid), logged)
	go func() {
		cmd.Wait()
		<-logged
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	if err := p.waitReady(ctx, sock, exited); err != nil {
		p.kill()
		return fmt.Errorf("external env: %q (pid %d) did not come up: %w%s", strings.Join(p.argv, " "), cmd.Process.Pid, err, p.tailText())
	}
	return nil
}

// copyOutput writes the process's output lines to opts.Log with prefix
// and keeps the last tailLines of them.
func (p *Process) copyOutput(r io.ReadCloser, prefix string, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(p.opts.Log, "%s%s\n", prefix, line)
		p.mu.Lock()
		if len(p.tail) == tailLines {
			p.tail = p.tail[1:]
		}
		p.tail = append(p.tail, line)
		p.mu.Unlock()
	}
}

func (p *Process) tailText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tail) == 0 {
		return " (it wrote nothing)"
	}
	return "; its last output:\n    " + strings.Join(p.tail, "\n    ")
}

// waitReady waits for the socket, connects and calls Spec until it
// answers, the process exits or StartTimeout passes.
func (p *Process) waitReady(ctx context.Context, sock string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("it exited (%s) before listening on %s", p.exitStatus(), sock)
		case <-ctx.Done():
			return fmt.Errorf("no socket at %s after %v", sock, p.opts.StartTimeout)
		case <-time.After(delay):
		}
	}
	cc, err := grpc.NewClient("unix://"+sock,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 5 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", sock, err)
	}
	p.mu.Lock()
	p.cc = cc
	p.mu.Unlock()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	var r specReply
	err = cc.Invoke(ctx, fullMethod(methodSpec), &specRequest{Protocol: ProtocolVersion}, &r,
		grpc.ForceCodec(codec{}), grpc.WaitForReady(true), grpc.MaxCallRecvMsgSize(specLimits.MaxBytes))
	if err != nil {
		select {
		case <-exited:
			return fmt.Errorf("it exited (%s)", p.exitStatus())
		default:
		}
		return fmt.Errorf("Spec: %w", err)
	}
	return nil
}

func (p *Process) exitStatus() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// kill ends the current process group with SIGKILL and waits for it.
func (p *Process) kill() {
	p.mu.Lock()
	cmd, exited, cc := p.cmd, p.exited, p.cc
	p.cc = nil
	p.mu.Unlock()
	if cc != nil {
		cc.Close()
	}
	if cmd == nil || cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// Restart kills the server process and starts it anew, waiting until the
// new one answers.
func (p *Process) Restart(ctx context.Context) error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return errClosed
	}
	p.kill()
	return p.start(ctx)
}

// Close stops the process: SIGTERM to its process group, SIGKILL after 5
// s, and removes its socket directory. Safe to call more than once.
func (p *Process) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cmd, exited, cc := p.cmd, p.exited, p.cc
	p.cc = nil
	p.mu.Unlock()
	if cc != nil {
		cc.Close()
	}
	var err error
	if cmd != nil && cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			err = fmt.Errorf("external env: pid %d ignored SIGTERM for 5 s: killed", cmd.Process.Pid)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	os.RemoveAll(p.dir)
	return err
}

// The backend methods.

func (p *Process) conn() *grpc.ClientConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cc
}

func (p *Process) recover(ctx context.Context, _ error) error { return p.Restart(ctx) }

func (p *Process) alive() bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (p *Process) describe() string { return fmt.Sprintf("process %d", p.Pid()) }

func (p *Process) unixSocket() bool { return true }

func (p *Process) close() error { return p.Close() }

// Start starts command as a supervised env server of opts.NumEnvs envs
// (see StartProcess) and returns its client. Close stops the process.
func Start(ctx context.Context, command []string, opts Options) (*VectorEnv, error) {
	opts = opts.withDefaults()
	p, err := StartProcess(ctx, command, opts)
	if err != nil {
		return nil, err
	}
	v, err := newVectorEnv(ctx, p, opts)
	if err != nil {
		p.Close()
		return nil, err
	}
	return v, nil
}
