// Package learner owns the training machinery: gorgonia graphs built once
// and reused, reverse-mode gradients, our own Adam with global-norm
// clipping and a per-step learning rate, and the device choice. The
// algorithm supplies the loss as a graph over the learner's parameter
// nodes; the learner runs it, applies the update and exports Weights.
//
// gorgonia has a fixed cost of a few hundred microseconds per training step
// (see docs/benchmarks.md), so graphs are built once per minibatch shape and
// inputs are written into preallocated tensors in place.
package learner

import (
	"errors"
	"fmt"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/rlgo/rlgo/policy"
)

// Graph is a gorgonia expression graph whose parameter nodes are bound to
// the learner's copy of the Weights: updating the weights' data in place
// updates the graph.
type Graph struct {
	g       *gorgonia.ExprGraph
	weights *policy.Weights
	params  []*gorgonia.Node
	byName  map[string]*gorgonia.Node
}

// NewGraph starts a graph over a copy of w, one parameter node per tensor.
func NewGraph(w *policy.Weights) *Graph {
	gr := &Graph{g: gorgonia.NewGraph(), weights: w.Clone(), byName: map[string]*gorgonia.Node{}}
	for _, t := range gr.weights.Tensors {
		gr.addParam(t)
	}
	return gr
}

// Replica starts another graph over the same weights as gr: its
// parameter nodes read the very arrays gr's do (an update through one is
// seen by both), and it gets its own inputs and loss. Build one loss per
// replica over part of the minibatch and pass them all to NewReplicated.
func (gr *Graph) Replica() *Graph {
	r := &Graph{g: gorgonia.NewGraph(), weights: gr.weights, byName: map[string]*gorgonia.Node{}}
	for _, t := range r.weights.Tensors {
		r.addParam(t)
	}
	return r
}

func (gr *Graph) addParam(t policy.Tensor) {
	val := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
	var n *gorgonia.Node
	switch len(t.Shape) {
	case 1:
		n = gorgonia.NewVector(gr.g, tensor.Float32, gorgonia.WithShape(t.Shape...), gorgonia.WithName(t.Name), gorgonia.WithValue(val))
	default:
		n = gorgonia.NewMatrix(gr.g, tensor.Float32, gorgonia.WithShape(t.Shape...), gorgonia.WithName(t.Name), gorgonia.WithValue(val))
	}
	gr.params = append(gr.params, n)
	gr.byName[t.Name] = n
}

// ExprGraph returns the underlying gorgonia graph, for building losses.
func (gr *Graph) ExprGraph() *gorgonia.ExprGraph { return gr.g }

// Param returns the node of the parameter called name, or nil.
func (gr *Graph) Param(name string) *gorgonia.Node { return gr.byName[name] }

// Input is a graph input backed by a preallocated slice: write into Data
// before each step.
type Input struct {
	Node *gorgonia.Node
	Data []float32
}

// Input adds a float32 input of the given shape (1 or 2 dimensions).
func (gr *Graph) Input(name string, shape ...int) *Input {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	val := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	var node *gorgonia.Node
	if len(shape) == 1 {
		node = gorgonia.NewVector(gr.g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(val))
	} else {
		node = gorgonia.NewMatrix(gr.g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(val))
	}
	return &Input{Node: node, Data: data}
}

// MLP adds m's forward pass on x ([batch, Sizes[0]]) to the graph and
// returns its output node ([batch, Sizes[len-1]]). It computes exactly what
// policy.Forward computes, one fused Dense node per layer. Gradients do not
// flow into x when x is a graph input.
func (gr *Graph) MLP(m policy.MLP, x *gorgonia.Node) (*gorgonia.Node, error) {
	h := x
	for i := 0; i < m.Layers(); i++ {
		w, b := gr.Param(m.WeightName(i)), gr.Param(m.BiasName(i))
		if w == nil || b == nil {
			return nil, fmt.Errorf("mlp %s: no parameters for layer %d", m.Name, i)
		}
		act := m.Activation
		if i == m.Layers()-1 {
			act = "" // linear output layer
		}
		var err error
		if h, err = Dense(h, w, b, act, i > 0 || !h.IsVar()); err != nil {
			return nil, fmt.Errorf("mlp %s layer %d: %w", m.Name, i, err)
		}
	}
	return h, nil
}

// Output is a node whose value is read after every step.
type Output struct {
	Name  string
	value gorgonia.Value
}

// Values returns the node's value after the last step as float32s (a
// scalar has one). The slice is valid until the next step.
func (o *Output) Values() []float32 {
	switch v := o.value.(type) {
	case *tensor.Dense:
		return v.Data().([]float32)
	case *gorgonia.F32:
		return []float32{float32(*v)}
	}
	return nil
}

// Value returns a scalar output's value.
func (o *Output) Value() float32 { return o.Values()[0] }

// Read registers n's value to be read after every step.
func (gr *Graph) Read(name string, n *gorgonia.Node) *Output {
	o := &Output{Name: name}
	gorgonia.Read(n, &o.value)
	return o
}

// Config configures a Learner.
type Config struct {
	// Adam configures the optimizer.
	Adam AdamConfig
	// Device is where the graph runs: "auto" (default), "cpu" or
	// "cuda:N". gorgonia is built here without CUDA, so cuda:N is an error.
	Device string
}

// Learner minimises a scalar loss over a Graph's parameters. A Learner
// from NewReplicated runs several graphs over the same weights, one
// goroutine each, and sums their losses and gradients.
type Learner struct {
	graph *Graph
	loss  *gorgonia.Node
	vm    gorgonia.VM
	adam  *Adam
	data  [][]float32
	grads [][]float32
	// reps are the graphs; reps[0] is graph, loss and vm above.
	reps []*replica
}

// replica is one graph of a Learner with its compiled machine.
type replica struct {
	graph *Graph
	loss  *gorgonia.Node
	vm    gorgonia.VM
	grads [][]float32 // the gradients of the last run
	err   error
}

// New builds the gradient of loss with respect to every parameter of gr
// and compiles the graph once. No node may be added to gr afterwards.
func New(cfg Config, gr *Graph, loss *gorgonia.Node) (*Learner, error) {
	return NewReplicated(cfg, []*Graph{gr}, []*gorgonia.Node{loss})
}

// NewReplicated is New over several graphs that share their weights
// (graphs[1:] are Replicas of graphs[0]): the loss minimised is the sum of
// losses[i], each over graphs[i]. Every step runs the graphs concurrently
// (one goroutine each; the caller's runs graphs[0]), then adds the
// gradients in graph order, so results do not depend on scheduling, and
// takes one Adam step. Splitting a minibatch's mean loss into per-part
// sums divided by the whole minibatch's size gives the single-graph
// gradient up to float rounding, computed on several cores.
func NewReplicated(cfg Config, graphs []*Graph, losses []*gorgonia.Node) (*Learner, error) {
	cfg.Adam.Defaults()
	if err := cfg.Adam.Validate(); err != nil {
		return nil, fmt.Errorf("learner: adam: %w", err)
	}
	if _, err := SelectDevice(cfg.Device); err != nil {
		return nil, fmt.Errorf("learner: %w", err)
	}
	if len(graphs) == 0 || len(graphs) != len(losses) {
		return nil, fmt.Errorf("learner: %d graphs and %d losses, want as many of each and at least one", len(graphs), len(losses))
	}
	l := &Learner{}
	for i, gr := range graphs {
		if gr.weights != graphs[0].weights {
			return nil, fmt.Errorf("learner: graph %d is not a Replica of graph 0", i)
		}
		if _, err := gorgonia.Grad(losses[i], gr.params...); err != nil {
			l.Close()
			return nil, fmt.Errorf("learner: gradient: %w", err)
		}
		l.reps = append(l.reps, &replica{
			graph: gr,
			loss:  losses[i],
			vm:    gorgonia.NewTapeMachine(gr.g, gorgonia.BindDualValues(gr.params...)),
			grads: make([][]float32, len(gr.params)),
		})
	}
	l.graph, l.loss, l.vm = graphs[0], losses[0], l.reps[0].vm
	gr := graphs[0]
	sizes := make([]int, len(gr.weights.Tensors))
	for i, t := range gr.weights.Tensors {
		sizes[i] = len(t.Data)
		l.data = append(l.data, t.Data)
	}
	l.adam = NewAdam(cfg.Adam, sizes)
	l.grads = make([][]float32, len(gr.params))
	return l, nil
}

// StepResult reports one optimisation step.
type StepResult struct {
	// Loss is the loss before the update.
	Loss float32
	// GradNorm is the global gradient norm before clipping.
	GradNorm float64
}

// Forward runs the graph without updating (the loss and Outputs are
// refreshed); used by tests and for statistics.
func (l *Learner) Forward() (float32, error) {
	if err := l.run(); err != nil {
		return 0, fmt.Errorf("learner: forward: %w", err)
	}
	return l.lossValue(), nil
}

// lossValue is the sum of the replicas' losses, in order.
func (l *Learner) lossValue() float32 {
	var sum float32
	for _, r := range l.reps {
		switch v := r.loss.Value().(type) {
		case *gorgonia.F32:
			sum += float32(*v)
		case *tensor.Dense:
			sum += v.Data().([]float32)[0]
		}
	}
	return sum
}

// run runs every replica (concurrently when there are several) and
// leaves the summed gradients in l.grads, in parameter order; the
// machines are reset afterwards (values read through Outputs and the
// losses stay readable until the next run).
func (l *Learner) run() error {
	if len(l.reps) == 1 {
		r := l.reps[0]
		defer r.vm.Reset()
		r.run()
		return r.err
	}
	var wg sync.WaitGroup
	for _, r := range l.reps[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run()
		}()
	}
	l.reps[0].run()
	wg.Wait()
	for _, r := range l.reps {
		r.vm.Reset()
	}
	for _, r := range l.reps {
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// run zeroes the parameters' gradients and runs the graph, then records
// the gradients. The TapeMachine adds each run's gradient into the
// parameters' dual values (vm_tape_nocuda.go: dv.d += v) and never clears
// them; gorgonia's own solvers zero them after every update. Without
// this, every step would apply the sum of all gradients so far.
func (r *replica) run() {
	r.err = nil
	for _, p := range r.graph.params {
		if g, err := p.Grad(); err == nil && g != nil {
			if d, ok := g.(*tensor.Dense); ok {
				if f, ok := float32s(d); ok {
					clear(f)
				}
			}
		}
	}
	if r.err = r.vm.RunAll(); r.err != nil {
		return
	}
	for i, p := range r.graph.params {
		g, err := p.Grad()
		if err != nil {
			r.err = fmt.Errorf("gradient of %s: %w", p.Name(), err)
			return
		}
		d, ok := g.(*tensor.Dense)
		if !ok {
			r.err = fmt.Errorf("gradient of %s is %T", p.Name(), g)
			return
		}
		if r.grads[i], ok = float32s(d); !ok {
			r.err = fmt.Errorf("gradient of %s is %v, want float32", p.Name(), d.Dtype())
			return
		}
	}
}

// sumGrads sets l.grads to the replicas' gradients added in replica
// order, in replica 0's buffers.
func (l *Learner) sumGrads() {
	for i := range l.grads {
		g := l.reps[0].grads[i]
		for _, r := range l.reps[1:] {
			for j, v := range r.grads[i][:len(g)] {
				g[j] += v
			}
		}
		l.grads[i] = g
	}
}

// Step runs forward and backward on the current inputs and applies one
// Adam update with learning rate lr.
func (l *Learner) Step(lr float64) (StepResult, error) {
	if err := l.run(); err != nil {
		return StepResult{}, fmt.Errorf("learner: forward/backward: %w", err)
	}
	l.sumGrads()
	norm, err := l.adam.Step(l.data, l.grads, lr)
	if err != nil {
		return StepResult{}, fmt.Errorf("learner: %w", err)
	}
	return StepResult{Loss: l.lossValue(), GradNorm: norm}, nil
}

// Gradients runs forward and backward and returns copies of the
// gradients, in parameter order, without updating (for gradient checks).
func (l *Learner) Gradients() ([][]float32, error) {
	if err := l.run(); err != nil {
		return nil, fmt.Errorf("learner: forward/backward: %w", err)
	}
	l.sumGrads()
	out := make([][]float32, len(l.grads))
	for i, g := range l.grads {
		out[i] = append([]float32(nil), g...)
	}
	return out, nil
}

// Weights returns the learner's current weights (shared; Clone to keep).
func (l *Learner) Weights() *policy.Weights { return l.graph.weights }

// SetWeights copies w into the learner's parameters.
func (l *Learner) SetWeights(w *policy.Weights) error { return l.graph.weights.CopyFrom(w) }

// Optimizer returns the Adam optimizer, for checkpointing its state.
func (l *Learner) Optimizer() *Adam { return l.adam }

// Close releases the VMs.
func (l *Learner) Close() error {
	var errs []error
	for _, r := range l.reps {
		errs = append(errs, r.vm.Close())
	}
	return errors.Join(errs...)
}

// Params returns the parameter nodes, in the Weights' tensor order.
func (gr *Graph) Params() []*gorgonia.Node { return gr.params }
