// Package policy holds rlgo's networks as plain data: network specs (MLP
// actor and critic), their initialisation, the action distributions, the
// versioned Weights that travel from learner to workers, and a pure-Go
// forward pass that workers act with.
//
// The learner builds the same networks as gorgonia graphs over the same
// Weights (package learner); a test proves the two forward passes agree.
// The package does not import gorgonia, so a service that only serves a
// trained policy stays small.
package policy

import (
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rlgo/rlgo/internal/wire"
)

// Tensor is a named float32 tensor, row-major by Shape.
type Tensor struct {
	Name  string    `msgpack:"name"`
	Shape []int     `msgpack:"shape"`
	Data  []float32 `msgpack:"data"`
}

// EncodeMsgpack writes t as a map of name, shape and data, with the data
// as one bin of little-endian float32s (internal/wire's column encoding):
// a copy of memory, where a tagged msgpack float per value cost ~20× more.
func (t Tensor) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	if err := enc.EncodeString("name"); err != nil {
		return err
	}
	if err := enc.EncodeString(t.Name); err != nil {
		return err
	}
	if err := enc.EncodeString("shape"); err != nil {
		return err
	}
	if t.Shape == nil {
		if err := enc.EncodeNil(); err != nil {
			return err
		}
	} else {
		if err := enc.EncodeArrayLen(len(t.Shape)); err != nil {
			return err
		}
		for _, d := range t.Shape {
			if err := enc.EncodeInt(int64(d)); err != nil {
				return err
			}
		}
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	return wire.EncodeFloat32s(enc, t.Data)
}

// DecodeMsgpack reads what EncodeMsgpack writes (data may also be an array
// of floats, as weights files written before the bin encoding have it).
// Unknown keys are skipped. Data is read into t.Data's storage when it has
// room.
func (t *Tensor) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	data := t.Data
	*t = Tensor{}
	for range max(n, 0) {
		key, err := dec.DecodeString()
		if err != nil {
			return err
		}
		switch key {
		case "name":
			t.Name, err = dec.DecodeString()
		case "shape":
			t.Shape, err = decodeShape(dec)
		case "data":
			t.Data, err = wire.DecodeFloat32s(dec, data)
		default:
			err = dec.Skip()
		}
		if err != nil {
			return fmt.Errorf("tensor %.64q: %s: %w", t.Name, key, err)
		}
	}
	return nil
}

// decodeShape reads an array of dimensions (or nil), growing the slice as
// elements arrive rather than trusting the declared length.
func decodeShape(dec *msgpack.Decoder) ([]int, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil || n < 0 {
		return nil, err
	}
	shape := make([]int, 0, min(n, 8))
	for range n {
		d, err := dec.DecodeInt()
		if err != nil {
			return nil, err
		}
		shape = append(shape, d)
	}
	return shape, nil
}

// Weights is a set of named tensors plus the version that identifies them.
// The learner increments Version on every update it broadcasts; a worker
// stamps each batch with the version it acted with.
type Weights struct {
	// Version identifies this set of weights; larger is newer.
	Version uint64 `msgpack:"version"`
	// Tensors are kept in a fixed order (the network's parameter order), so
	// that encoding is deterministic.
	Tensors []Tensor `msgpack:"tensors"`
	// Explore carries the exploration settings the learner wants the
	// workers to act with until the next broadcast (DQN's ε).
	Explore Exploration `msgpack:"explore"`
	// ObsNorm, when set, are the observation-normalisation statistics the
	// policy's inputs are normalised with (see ObsNorm): workers normalise
	// what they observe with them, and evaluation and exported policies
	// use them frozen. nil means observations are used as they are.
	ObsNorm *ObsNorm `msgpack:"obs_norm"`
}

// Exploration is broadcast with the weights: algorithms that anneal their
// exploration on the learner set it, workers' policies read it.
type Exploration struct {
	// Epsilon is the probability of a uniformly random action (ε-greedy).
	Epsilon float32 `msgpack:"epsilon"`
}

// Get returns the tensor called name, or nil.
func (w *Weights) Get(name string) *Tensor {
	for i := range w.Tensors {
		if w.Tensors[i].Name == name {
			return &w.Tensors[i]
		}
	}
	return nil
}

// Clone returns a deep copy of w.
func (w *Weights) Clone() *Weights {
	c := &Weights{Version: w.Version, Explore: w.Explore, ObsNorm: w.ObsNorm.Clone(), Tensors: make([]Tensor, len(w.Tensors))}
	for i, t := range w.Tensors {
		c.Tensors[i] = Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: slices.Clone(t.Data)}
	}
	return c
}

// CopyFrom copies src's version and data into w, which must have the same
// tensor names and sizes (it allocates nothing, except the first time
// src carries observation-normalisation statistics).
func (w *Weights) CopyFrom(src *Weights) error {
	if len(src.Tensors) != len(w.Tensors) {
		return fmt.Errorf("copy weights: %d tensors, want %d", len(src.Tensors), len(w.Tensors))
	}
	for i := range w.Tensors {
		d, s := &w.Tensors[i], &src.Tensors[i]
		if d.Name != s.Name || len(d.Data) != len(s.Data) {
			return fmt.Errorf("copy weights: tensor %d is %s[%d], want %s[%d]", i, s.Name, len(s.Data), d.Name, len(d.Data))
		}
		copy(d.Data, s.Data)
	}
	w.Version = src.Version
	w.Explore = src.Explore
	switch {
	case src.ObsNorm == nil:
		w.ObsNorm = nil
	case w.ObsNorm == nil || len(w.ObsNorm.Mean) != len(src.ObsNorm.Mean):
		w.ObsNorm = src.ObsNorm.Clone()
	default:
		m, v := w.ObsNorm.Mean, w.ObsNorm.Var
		*w.ObsNorm = *src.ObsNorm
		w.ObsNorm.Mean, w.ObsNorm.Var = m, v
		copy(m, src.ObsNorm.Mean)
		copy(v, src.ObsNorm.Var)
	}
	return nil
}

// NumParams returns the total number of scalars.
func (w *Weights) NumParams() int {
	n := 0
	for _, t := range w.Tensors {
		n += len(t.Data)
	}
	return n
}

// Validate checks that every tensor's data matches its shape.
func (w *Weights) Validate() error {
	for _, t := range w.Tensors {
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("weights: tensor %s: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("weights: tensor %s: shape %v holds %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
	}
	if w.ObsNorm != nil {
		if err := w.ObsNorm.Validate(len(w.ObsNorm.Mean)); err != nil {
			return fmt.Errorf("weights: %w", err)
		}
	}
	return nil
}

// Encode encodes w as msgpack (UnmarshalWeights decodes it).
func (w *Weights) Encode() ([]byte, error) { return wire.Marshal(w) }

// UnmarshalWeights decodes msgpack bytes from outside the process: the
// message is bounded and its headers are checked before anything is
// allocated (see internal/wire), and the tensors' shapes are validated.
func UnmarshalWeights(b []byte) (*Weights, error) {
	var w Weights
	if err := wire.Unmarshal(b, &w, wire.DefaultLimits); err != nil {
		return nil, fmt.Errorf("decode weights: %w", err)
	}
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("decode weights: %w", err)
	}
	return &w, nil
}
