package serve

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// call is one request on its way through the batcher: its observations
// in, its actions out. Calls are recycled through a free list, and every
// slice keeps its capacity, so a request of a size seen before allocates
// nothing.
type call struct {
	// Filled by the decoder.
	frames   []float32 // the observations as sent ([rows, frame size])
	lens     []int32   // each observation's length as sent
	rows     int
	batch    bool // the request had "observations" (a list), not "observation"
	explore  bool
	probs    bool
	qValues  bool
	hasSeed  bool
	seed     uint64
	sessions []sessionRef // per row, or none
	resets   []bool       // per row (with sessions), or none
	// gRPC: the call's copy of its message (session ids are slices of
	// it) and what decoding it found wrong.
	msg       []byte
	decodeErr error

	// arriving: the batcher counts the call as on its way (arrive).
	arriving bool

	// Filled before the call is queued.
	obs []float32 // the policy's input ([rows, obsDim]): frames, stacked per session
	src *rand.PCG
	rng *rand.Rand

	// Filled by the batch worker.
	actions []int     // Discrete
	cont    []float32 // Box: [rows, actDim]
	extra   []float32 // probabilities, Q-values, or mean and σ
	version uint64
	numAct  int
	actDim  int

	done chan struct{}
}

// sessionRef names a session: either bytes of a request body (JSON, no
// copy) or a string (gRPC).
type sessionRef struct {
	b []byte
	s string
}

func (r sessionRef) empty() bool { return len(r.b) == 0 && r.s == "" }

func newCall() *call {
	c := &call{done: make(chan struct{}, 1)}
	c.src, c.rng = newRand()
	return c
}

// reset clears the decoder's fields, keeping every buffer.
func (c *call) reset() {
	c.frames = c.frames[:0]
	c.lens = c.lens[:0]
	c.rows = 0
	c.batch, c.explore, c.probs, c.qValues, c.hasSeed = false, false, false, false, false
	c.seed = 0
	c.sessions = c.sessions[:0]
	c.resets = c.resets[:0]
	c.obs = c.obs[:0]
	c.decodeErr = nil
}

// freeList recycles calls without sync.Pool's drops at GC: a fixed
// number wait in a channel, more are made when it is empty and dropped
// when it is full.
type freeList chan *call

func (f freeList) get() *call {
	select {
	case c := <-f:
		return c
	default:
		return newCall()
	}
}

func (f freeList) put(c *call) {
	c.reset()
	select {
	case f <- c:
	default:
	}
}

// errOverloaded is returned when the queue is full.
var errOverloaded = errors.New("server overloaded: the request queue is full")

// batcher answers calls in batches of at most maxRows rows, each one
// forward pass on one of its workers (a network and buffers; there are
// Config.Workers of them, each used by one goroutine at a time).
//
// A call that finds the queue empty and a worker idle, with no other
// request on its way, is answered on its caller's goroutine at once:
// there is nothing to batch it with, and a handoff to a batch goroutine
// and back costs two wake-ups. Otherwise it is queued, and a batch
// goroutine takes the first call it finds, then every call already
// queued (and, with maxWait > 0, those that arrive within maxWait while
// requests are on their way) while the batch has room.
type batcher struct {
	queue   chan *call
	idle    chan *worker // the workers not in use
	maxRows int
	maxWait time.Duration
	current *atomic.Pointer[snapshot]
	metrics *metrics
	stop    chan struct{}
	wg      sync.WaitGroup
	// inflight counts the calls submitted and not yet answered.
	inflight atomic.Int64
	// arriving counts the requests whose handlers run and have not yet
	// submitted (or given up): the calls a batch may wait for.
	arriving atomic.Int64
	errs     func(error) // a network that cannot be built (logged)
}

func newBatcher(current *atomic.Pointer[snapshot], workers, maxRows, queue int, maxWait time.Duration, m *metrics, errs func(error)) *batcher {
	b := &batcher{queue: make(chan *call, queue), idle: make(chan *worker, workers), maxRows: maxRows, maxWait: maxWait,
		current: current, metrics: m, stop: make(chan struct{}), errs: errs}
	for range workers {
		b.idle <- &worker{b: b}
		b.wg.Go(b.work)
	}
	return b
}

// arrive counts c's request as on its way (its handler runs): a batch
// with maxWait may wait for it. submit, or depart if the request is
// refused before, stops counting it.
func (b *batcher) arrive(c *call) {
	c.arriving = true
	b.arriving.Add(1)
}

// depart stops counting c as on its way (if it was).
func (b *batcher) depart(c *call) {
	if c.arriving {
		c.arriving = false
		b.arriving.Add(-1)
	}
}

// submit answers c: on the caller's goroutine when nothing is queued, a
// worker is idle, and (with maxWait) no other request is on its way or
// in flight; else through the queue. errOverloaded when the queue is
// full; it never blocks on a full queue.
//
// A queued call stops counting as on its way only once it is in the
// queue: a batch that finds the queue empty and nothing on its way has
// then seen every call that will not come (see work).
func (b *batcher) submit(c *call) error {
	inflight := b.inflight.Add(1)
	defer b.inflight.Add(-1)
	others := b.arriving.Load()
	if c.arriving {
		others--
	}
	// With maxWait, another call in flight may be one a batch is
	// gathering with: this one joins it through the queue.
	if len(b.queue) == 0 && (b.maxWait == 0 || (others == 0 && inflight == 1)) {
		select {
		case w := <-b.idle:
			b.depart(c)
			w.batch = append(w.batch[:0], c)
			w.run(w.batch)
			<-c.done
			b.idle <- w
			return nil
		default:
		}
	}
	// c belongs to a batch goroutine once queued: read its count first.
	counted := c.arriving
	c.arriving = false
	var err error
	select {
	case b.queue <- c:
	default:
		err = errOverloaded
	}
	if counted {
		b.arriving.Add(-1)
	}
	if err != nil {
		return err
	}
	<-c.done
	return nil
}

// close stops the workers once the queue is drained of what was
// submitted before (callers stop submitting first).
func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}

func (b *batcher) work() {
	var timer *time.Timer
	if b.maxWait > 0 {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	var carry *call
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				// Drain what is left, then leave.
				w := <-b.idle
				defer func() { b.idle <- w }()
				for {
					select {
					case c := <-b.queue:
						w.run(append(w.batch[:0], c))
					default:
						return
					}
				}
			}
		}
		w := <-b.idle
		w.batch = append(w.batch[:0], first)
		rows := first.rows
		waiting := false
	gather:
		for rows < b.maxRows {
			var c *call
			select {
			case c = <-b.queue:
			default:
				// Wait for more only while requests are on their way. A
				// call is queued before it stops counting, so once the
				// count is 0 one more look at the queue finds every call
				// that was on its way.
				switch {
				case timer == nil:
					break gather
				case b.arriving.Load() == 0:
					select {
					case c = <-b.queue:
					default:
						break gather
					}
				default:
					if !waiting {
						timer.Reset(b.maxWait)
						waiting = true
					}
					select {
					case c = <-b.queue:
					case <-timer.C:
						waiting = false
						break gather
					}
				}
			}
			if rows+c.rows > b.maxRows {
				carry = c
				break
			}
			w.batch = append(w.batch, c)
			rows += c.rows
		}
		if waiting {
			timer.Stop()
		}
		w.run(w.batch)
		b.idle <- w
	}
}

// worker is the state of one forward pass at a time: its network
// (rebuilt when a new snapshot is published) and its batch buffers.
type worker struct {
	b     *batcher
	net   *network
	batch []*call
	obs   []float32
}

// run answers every call of batch with one forward pass.
func (w *worker) run(batch []*call) {
	snap := w.b.current.Load()
	if w.net == nil || w.net.snap != snap {
		net, err := newNetwork(snap)
		if err != nil {
			w.b.errs(err) // unreachable for a checked snapshot; keep the old network
		} else {
			w.net = net
		}
	}
	n := w.net
	rows := 0
	for _, c := range batch {
		rows += c.rows
	}
	if need := rows * n.obsDim; cap(w.obs) < need {
		w.obs = make([]float32, need)
	}
	x := w.obs[:0]
	for _, c := range batch {
		x = append(x, c.obs[:c.rows*n.obsDim]...)
	}
	out := n.forward(x, rows)
	width := n.outputs()
	r := 0
	for _, c := range batch {
		c.prepare(n)
		for i := 0; i < c.rows; i++ {
			n.decide(out[(r+i)*width:(r+i+1)*width], c, i)
		}
		r += c.rows
		c.version = n.snap.version
		c.done <- struct{}{}
	}
	if w.b.metrics != nil {
		w.b.metrics.batchRows.Observe(float64(rows))
	}
}

// prepare sizes c's outputs for n's action space.
func (c *call) prepare(n *network) {
	c.numAct, c.actDim = n.numAct, n.actDim
	c.actions = grow(c.actions, c.rows)
	c.cont = growF(c.cont, c.rows*n.actDim)
	extra := 0
	switch {
	case c.probs && n.actDim > 0:
		extra = 2 * n.actDim
	case c.probs || c.qValues:
		extra = n.numAct
	}
	c.extra = growF(c.extra, c.rows*extra)
}

func grow(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
