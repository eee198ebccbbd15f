package external

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/internal/wire"
)

// The step socket (CapStepSocket): Step requests and replies as frames of
// a 4-byte little-endian length and the msgpack message, on a plain Unix
// socket beside the gRPC one. It exists for speed only: a Step over it
// costs two small writes and two reads, where a gRPC call, even on an open
// stream, passes HTTP/2 framing and, in grpcio's Python server, several
// thread hand-offs. Spec, Reset and Close stay gRPC calls.

// frameHeader is the size of a frame's length prefix.
const frameHeader = 4

// stepSocketSuffix is appended to a server's gRPC socket path to name its
// step socket (the Go and Python servers' choice; a server names the path
// in its Spec reply, and clients take it from there).
const stepSocketSuffix = ".step"

// maxErrorMessage bounds the message of a failed step's reply.
const maxErrorMessage = 8192

// stepConn is a client's open connection to a step socket.
type stepConn struct {
	c   net.Conn
	r   *bufio.Reader
	out []byte // the request frame, reused
	in  []byte // the reply frame's body, reused
	// deadline is the connection's deadline (zero: set it on the next
	// call).
	deadline time.Time
}

// callStepSocket sends the Step request on the step socket (connecting
// first if no connection is open) and reads its reply into v.reply.
// CallTimeout is the connection's deadline for the whole exchange; a
// missed deadline fails with DeadlineExceeded and a broken connection
// with Unavailable, as a unary call would, so the supervisor restarts the
// server. The reply frame is bounded by the unary reply's size limit
// before anything is read into memory and decoded with the same wire
// limits. After any failure the connection is dropped; the next step
// connects anew.
func (v *VectorEnv) callStepSocket(ctx context.Context) error {
	now := time.Now()
	deadline, exact := now.Add(v.opts.CallTimeout), false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, exact = d, true
	}
	if v.sock == nil {
		d := net.Dialer{Deadline: deadline}
		c, err := d.DialContext(ctx, "unix", v.spec.StepSocket)
		if err != nil {
			if ctx.Err() != nil {
				return v.callError(methodStep, status.FromContextError(ctx.Err()).Err())
			}
			return v.callError(methodStep, status.Errorf(codes.Unavailable, "step socket %s: %v", v.spec.StepSocket, err))
		}
		v.sock = &stepConn{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	}
	sc := v.sock
	// The connection's deadline is moved only when it is nearer than
	// CallTimeout, to 9/8 of CallTimeout from now: each call then has
	// between CallTimeout and 9/8 of it. Moving it on every call would
	// cost a wake-up of Go's network poller per step (~10 us measured on
	// the 2-core test machine). A context's nearer deadline is set as is.
	if exact || sc.deadline.Before(deadline) {
		set := deadline
		if !exact {
			set = now.Add(v.opts.CallTimeout + v.opts.CallTimeout/8)
		}
		if err := sc.c.SetDeadline(set); err != nil {
			v.dropSocket()
			return v.callError(methodStep, status.Errorf(codes.Unavailable, "step socket: %v", err))
		}
		sc.deadline = set
		if exact {
			sc.deadline = time.Time{} // the next call sets its own
		}
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { sc.c.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() && v.sock == sc {
				// ctx ended as the step did: the connection's deadline
				// may have been moved into the past, so drop it now.
				v.dropSocket()
			}
		}()
	}
	r := &v.reply
	r.Obs, r.Rewards, r.Terminated, r.Truncated, r.FinalObs = r.Obs[:0], r.Rewards[:0], r.Terminated[:0], r.Truncated[:0], r.FinalObs[:0]
	r.Code, r.Message = 0, ""
	clear(r.Infos)
	err := sc.exchange(&v.req, r, v.lim.recv)
	if err != nil {
		v.dropSocket()
		var re *frameError
		switch {
		case errors.As(err, &re):
			return v.malformed(methodStep, "step socket: %v", re.err)
		case ctx.Err() != nil:
			err = status.FromContextError(ctx.Err()).Err()
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = status.Errorf(codes.DeadlineExceeded, "no Step reply within %v", v.opts.CallTimeout)
		default:
			err = status.Errorf(codes.Unavailable, "step socket: %v", err)
		}
		return v.callError(methodStep, err)
	}
	if r.Code != 0 {
		// A step the server refused or an env that raised: an error, as
		// the unary Step's status, not a transport failure.
		code := codes.Code(r.Code)
		if code == codes.OK || code > 16 {
			code = codes.Unknown
		}
		return v.callError(methodStep, status.Error(code, r.Message))
	}
	return nil
}

// frameError is a reply frame that breaks the framing's rules (too long,
// not a msgpack message within the bounds): a malformed reply.
type frameError struct{ err error }

func (e *frameError) Error() string { return e.err.Error() }

// exchange writes req as one frame and reads one reply frame of at most
// maxBytes into reply.
func (sc *stepConn) exchange(req *stepRequest, reply *stepReply, maxBytes int) error {
	body, err := wire.Marshal(req)
	if err != nil {
		return &frameError{fmt.Errorf("encode request: %w", err)}
	}
	sc.out = binary.LittleEndian.AppendUint32(sc.out[:0], uint32(len(body)))
	sc.out = append(sc.out, body...)
	if _, err := sc.c.Write(sc.out); err != nil {
		return err
	}
	var hdr [frameHeader]byte
	if _, err := io.ReadFull(sc.r, hdr[:]); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if uint64(n) > uint64(maxBytes) {
		return &frameError{fmt.Errorf("reply frame of %d bytes, more than %d", n, maxBytes)}
	}
	if cap(sc.in) < int(n) {
		sc.in = make([]byte, n)
	}
	sc.in = sc.in[:n]
	if _, err := io.ReadFull(sc.r, sc.in); err != nil {
		return err
	}
	if err := (codec{}).Unmarshal(sc.in, reply); err != nil {
		return &frameError{err}
	}
	return nil
}

// dropSocket closes the step socket connection, if one is open.
func (v *VectorEnv) dropSocket() {
	if v.sock != nil {
		v.sock.c.Close()
		v.sock = nil
	}
}

// serveStepSocket answers Step frames on lis until it is closed: one
// goroutine per connection, each request decoded within srv's request
// bounds, a frame longer than those bounds closing the connection.
func serveStepSocket(lis net.Listener, srv stepper, bounds func() wire.Limits) {
	var wg sync.WaitGroup
	defer wg.Wait()
	conns := map[net.Conn]struct{}{}
	var mu sync.Mutex
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveStepConn(c, srv, bounds())
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// serveStepConn answers one connection's Step frames until it closes.
func serveStepConn(c net.Conn, srv stepper, lim wire.Limits) {
	r := bufio.NewReaderSize(c, 64<<10)
	var in stepRequest
	var out stepReply
	var buf, frame []byte
	for {
		var hdr [frameHeader]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if uint64(n) > uint64(lim.MaxBytes) {
			return
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		in.lim, in.Actions = lim, in.Actions[:0]
		reply := &out
		err := wire.Unmarshal(buf, &in, lim)
		if err != nil {
			err = status.Errorf(codes.InvalidArgument, "step socket: %v", err)
		} else {
			err = srv.step(&in, &out)
		}
		if err != nil {
			msg := status.Convert(err).Message()
			if len(msg) > maxErrorMessage {
				msg = msg[:maxErrorMessage]
			}
			reply = &stepReply{Code: int(status.Code(err)), Message: msg}
		}
		body, err := wire.Marshal(reply)
		if err != nil {
			return
		}
		frame = binary.LittleEndian.AppendUint32(frame[:0], uint32(len(body)))
		frame = append(frame, body...)
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

// stepSocketPath is the step socket beside a server's gRPC socket, or ""
// when lis is not a Unix socket (the step socket is for local clients).
func stepSocketPath(lis net.Listener) string {
	a := lis.Addr()
	if a.Network() != "unix" || a.String() == "" || strings.HasPrefix(a.String(), "@") {
		return ""
	}
	return a.String() + stepSocketSuffix
}
