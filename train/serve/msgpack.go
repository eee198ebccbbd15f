package serve

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/rlgo/rlgo/internal/wire"
)

// mpDecoder parses a gRPC act request (msgpack) into a call, as
// jsonDecoder does a JSON body: without reflection and without
// allocating for a well-formed request. It takes what ActRequest's
// DecodeMsgpack takes (numbers as floats of either width or integers, as
// Python's msgpack packs them; strings as str or bin; nil for an absent
// value) and refuses what the JSON decoder refuses, each with a RequestError
// naming the field. Session ids are kept as slices of b (the call's own
// copy of the message).
type mpDecoder struct {
	b   []byte
	i   int
	c   *call
	max int // rows
	// wasNil: the last str or uint read was msgpack nil (absent).
	wasNil bool
}

// decodeActMsgpack fills c from msg, a gRPC act request; maxRows is the
// most observations one request may carry. Shapes are checked after
// (checkShapes), as for a JSON body.
func decodeActMsgpack(msg []byte, c *call, maxRows int) error {
	// The walk bounds every declared length by the bytes that follow it,
	// as for every msgpack message rlgo decodes; the decoder below never
	// trusts a declared length for an allocation either.
	if err := wire.Validate(msg, wire.DefaultLimits); err != nil {
		return &RequestError{Msg: "request: " + err.Error()}
	}
	d := mpDecoder{b: msg, c: c, max: maxRows}
	n, ok := d.mapLen()
	if !ok {
		return &RequestError{Msg: "request: want a map"}
	}
	seen := 0
	reset := false
	for range n {
		key, ok := d.str()
		if !ok {
			return &RequestError{Msg: "request: want a string field name at byte " + strconv.Itoa(d.i)}
		}
		bit, err := d.field(key, seen, &reset)
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return badField(string(key), "given twice")
		}
		seen |= bit
	}
	if c.rows == 0 && seen&fObservation == 0 {
		c.batch = true // no observation: an empty batch (checkShapes refuses it)
	}
	if seen&fSession != 0 && len(c.sessions) == 1 {
		if reset {
			c.resets = append(c.resets, false)
			copy(c.resets[1:], c.resets)
			c.resets[0] = true
		}
	} else if reset {
		return badField("reset", "needs a session")
	}
	return nil
}

func (d *mpDecoder) field(key []byte, seen int, reset *bool) (int, error) {
	c := d.c
	var bit int
	var err error
	switch string(key) { // no allocation: the compiler compares in place
	case "observation":
		bit = fObservation
		if seen&fObservations != 0 {
			return 0, badField("observations", "give observation or observations, not both")
		}
		var empty bool
		if empty, err = d.row(0, "observation", false); err == nil && !empty {
			c.rows = 1
		}
	case "observations":
		bit = fObservations
		if seen&fObservation != 0 {
			return 0, badField("observations", "give observation or observations, not both")
		}
		err = d.rows()
	case "explore":
		bit = fExplore
		c.explore, err = d.boolField("explore")
	case "probs":
		bit = fProbs
		c.probs, err = d.boolField("probs")
	case "q_values":
		bit = fQValues
		c.qValues, err = d.boolField("q_values")
	case "reset":
		bit = fReset
		*reset, err = d.boolField("reset")
	case "seed":
		bit = fSeed
		v, ok := d.uint()
		if !ok {
			return 0, badField("seed", "want an integer in [0, 2^64)")
		}
		if !d.wasNil {
			c.seed, c.hasSeed = v, true
		}
	case "session":
		bit = fSession
		if seen&fSessions != 0 {
			return 0, badField("sessions", "give session or sessions, not both")
		}
		id, ok := d.str()
		if !ok {
			return 0, badField("session", "want a string")
		}
		if !d.wasNil {
			if err = checkSessionID("session", id); err == nil {
				c.sessions = append(c.sessions[:0], sessionRef{b: id})
			}
		}
	case "sessions":
		bit = fSessions
		if seen&fSession != 0 {
			return 0, badField("sessions", "give session or sessions, not both")
		}
		err = d.sessionIDs()
	case "resets":
		bit = fResets
		err = d.bools()
	default:
		name := string(key)
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		return 0, badField(strconv.Quote(name), "unknown field (known: observation, observations, explore, seed, session, sessions, reset, resets, probs, q_values)")
	}
	return bit, err
}

func checkSessionID(field string, id []byte) error {
	if len(id) == 0 || len(id) > maxSessionID {
		return badField(field, "want 1 to %d bytes, got %d", maxSessionID, len(id))
	}
	return nil
}

// rows reads a list of observations (nil or empty: none).
func (d *mpDecoder) rows() error {
	c := d.c
	n, ok := d.arrayLen()
	if !ok {
		return badField("observations", "want a list of observations")
	}
	if n <= 0 {
		return nil
	}
	if n > d.max {
		return badField("observations", "more than %d observations (the limit of one request)", d.max)
	}
	c.batch = true
	for r := range n {
		empty, err := d.row(r, "observations", true)
		if err != nil {
			return err
		}
		if empty {
			return badField(indexed("observations", r), "empty")
		}
		c.rows++
	}
	return nil
}

// row reads observation r (a list of finite numbers; nil or empty for
// none, empty true) onto c.frames and its length onto c.lens.
func (d *mpDecoder) row(r int, field string, batch bool) (empty bool, err error) {
	c := d.c
	name := func() string {
		if batch {
			return indexed(field, r)
		}
		return field
	}
	n, ok := d.arrayLen()
	if !ok {
		return false, badField(name(), "want a list of numbers")
	}
	if n <= 0 {
		return true, nil
	}
	for k := range n {
		v, ok := d.number()
		if !ok {
			return false, badField(indexed(name(), k), "want a number")
		}
		f := float32(v)
		if f != f || f > math.MaxFloat32 || f < -math.MaxFloat32 {
			return false, badField(indexed(name(), k), "NaN or infinite values are not accepted")
		}
		c.frames = append(c.frames, f)
	}
	c.lens = append(c.lens, int32(n))
	return false, nil
}

func (d *mpDecoder) sessionIDs() error {
	c := d.c
	n, ok := d.arrayLen()
	if !ok {
		return badField("sessions", "want a list of session ids")
	}
	if n > d.max {
		return badField("sessions", "more than %d ids", d.max)
	}
	for i := range n {
		id, ok := d.str()
		if !ok {
			return badField(indexed("sessions", i), "want a string")
		}
		if len(id) == 0 || len(id) > maxSessionID {
			return checkSessionID(indexed("sessions", i), id)
		}
		c.sessions = append(c.sessions, sessionRef{b: id})
	}
	return nil
}

func (d *mpDecoder) bools() error {
	c := d.c
	n, ok := d.arrayLen()
	if !ok {
		return badField("resets", "want a list of true or false")
	}
	if n > d.max {
		return badField("resets", "more than %d values", d.max)
	}
	for range n {
		v, err := d.boolField("resets")
		if err != nil {
			return err
		}
		c.resets = append(c.resets, v)
	}
	return nil
}

func (d *mpDecoder) boolField(field string) (bool, error) {
	if d.i >= len(d.b) {
		return false, badField(field, "want true or false")
	}
	switch d.b[d.i] {
	case 0xc2, 0xc0: // false, nil
		d.i++
		return false, nil
	case 0xc3:
		d.i++
		return true, nil
	}
	return false, badField(field, "want true or false")
}

// next returns the next n bytes (ok false past the end).
func (d *mpDecoder) next(n int) ([]byte, bool) {
	if n < 0 || n > len(d.b)-d.i {
		return nil, false
	}
	b := d.b[d.i : d.i+n]
	d.i += n
	return b, true
}

// length reads a big-endian length of size bytes (1, 2 or 4).
func (d *mpDecoder) length(size int) (int, bool) {
	b, ok := d.next(size)
	if !ok {
		return 0, false
	}
	switch size {
	case 1:
		return int(b[0]), true
	case 2:
		return int(binary.BigEndian.Uint16(b)), true
	}
	v := binary.BigEndian.Uint32(b)
	if uint64(v) > uint64(len(d.b)) { // never more elements than bytes
		return 0, false
	}
	return int(v), true
}

// mapLen reads a map header (-1 for nil).
func (d *mpDecoder) mapLen() (int, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	d.i++
	switch {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), true
	case c == 0xde:
		return d.length(2)
	case c == 0xdf:
		return d.length(4)
	case c == 0xc0:
		return -1, true
	}
	return 0, false
}

// arrayLen reads an array header (-1 for nil).
func (d *mpDecoder) arrayLen() (int, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	switch {
	case c >= 0x90 && c <= 0x9f:
		d.i++
		return int(c & 0x0f), true
	case c == 0xdc:
		d.i++
		return d.length(2)
	case c == 0xdd:
		d.i++
		return d.length(4)
	case c == 0xc0:
		d.i++
		return -1, true
	}
	return 0, false
}

// str reads a str or bin as a slice of the message (nil for nil; then
// wasNil is set).
func (d *mpDecoder) str() ([]byte, bool) {
	d.wasNil = false
	if d.i >= len(d.b) {
		return nil, false
	}
	c := d.b[d.i]
	d.i++
	var n int
	ok := true
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n, ok = d.length(1)
	case c == 0xda || c == 0xc5:
		n, ok = d.length(2)
	case c == 0xdb || c == 0xc6:
		n, ok = d.length(4)
	case c == 0xc0:
		d.wasNil = true
		return nil, true
	default:
		d.i--
		return nil, false
	}
	if !ok {
		return nil, false
	}
	b, ok := d.next(n)
	if ok && b == nil {
		b = d.b[d.i:d.i]
	}
	return b, ok
}

// number reads a float of either width or an integer.
func (d *mpDecoder) number() (float64, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	switch {
	case c <= 0x7f:
		d.i++
		return float64(c), true
	case c >= 0xe0:
		d.i++
		return float64(int8(c)), true
	case c == 0xca:
		d.i++
		b, ok := d.next(4)
		if !ok {
			return 0, false
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), true
	case c == 0xcb:
		d.i++
		b, ok := d.next(8)
		if !ok {
			return 0, false
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), true
	case c >= 0xcc && c <= 0xcf:
		v, ok := d.uint()
		return float64(v), ok
	case c >= 0xd0 && c <= 0xd3:
		d.i++
		b, ok := d.next(1 << (c - 0xd0))
		if !ok {
			return 0, false
		}
		switch len(b) {
		case 1:
			return float64(int8(b[0])), true
		case 2:
			return float64(int16(binary.BigEndian.Uint16(b))), true
		case 4:
			return float64(int32(binary.BigEndian.Uint32(b))), true
		}
		return float64(int64(binary.BigEndian.Uint64(b))), true
	}
	return 0, false
}

// uint reads a non-negative integer (an int encoding of one included;
// nil reads as absent: wasNil).
func (d *mpDecoder) uint() (uint64, bool) {
	d.wasNil = false
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	switch {
	case c <= 0x7f:
		d.i++
		return uint64(c), true
	case c == 0xc0:
		d.i++
		d.wasNil = true
		return 0, true
	case c >= 0xcc && c <= 0xcf:
		d.i++
		b, ok := d.next(1 << (c - 0xcc))
		if !ok {
			return 0, false
		}
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		return v, true
	case c >= 0xd0 && c <= 0xd3:
		d.i++
		b, ok := d.next(1 << (c - 0xd0))
		if !ok || b[0]&0x80 != 0 { // negative
			return 0, false
		}
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		return v, true
	}
	return 0, false
}

// appendMsgpackReply writes c's answer onto b as ActReply.EncodeMsgpack
// writes an ActReply (the same bytes): a map of action (or actions, for
// a request with observations), version, and the probabilities,
// Q-values, or Gaussian mean and σ asked for. It allocates nothing when b
// has room.
func appendMsgpackReply(b []byte, c *call) []byte {
	n := 2
	switch {
	case c.probs && c.actDim > 0:
		n += 2
	case c.probs, c.qValues:
		n++
	}
	b = append(b, 0x80|byte(n))
	if c.batch {
		b = appendMsgpackStr(b, "actions")
		b = appendArrayLen(b, c.rows)
		for i := 0; i < c.rows; i++ {
			b = c.appendMsgpackAction(b, i)
		}
	} else {
		b = appendMsgpackStr(b, "action")
		b = c.appendMsgpackAction(b, 0)
	}
	b = appendMsgpackStr(b, "version")
	b = appendMsgpackUint(b, c.version)
	switch {
	case c.probs && c.actDim > 0:
		b = c.appendMsgpackExtra(b, "mean", 2*c.actDim, 0, c.actDim)
		b = c.appendMsgpackExtra(b, "std", 2*c.actDim, c.actDim, c.actDim)
	case c.probs:
		b = c.appendMsgpackExtra(b, "probs", c.numAct, 0, c.numAct)
	case c.qValues:
		b = c.appendMsgpackExtra(b, "q_values", c.numAct, 0, c.numAct)
	}
	return b
}

func (c *call) appendMsgpackAction(b []byte, i int) []byte {
	if c.actDim == 0 {
		return appendMsgpackInt(b, int64(c.actions[i]))
	}
	return appendMsgpackFloats(b, c.cont[i*c.actDim:(i+1)*c.actDim])
}

// appendMsgpackExtra writes key and, per row, width values of c.extra
// from off (a list per row for a batch, one list otherwise).
func (c *call) appendMsgpackExtra(b []byte, key string, stride, off, width int) []byte {
	b = appendMsgpackStr(b, key)
	if !c.batch {
		return appendMsgpackFloats(b, c.extra[off:off+width])
	}
	b = appendArrayLen(b, c.rows)
	for i := 0; i < c.rows; i++ {
		b = appendMsgpackFloats(b, c.extra[i*stride+off:i*stride+off+width])
	}
	return b
}

// appendMsgpackStr writes a str of fewer than 32 bytes (the reply's
// keys).
func appendMsgpackStr(b []byte, s string) []byte {
	return append(append(b, 0xa0|byte(len(s))), s...)
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

// appendMsgpackFloats writes x as a list of float32s.
func appendMsgpackFloats(b []byte, x []float32) []byte {
	b = appendArrayLen(b, len(x))
	for _, v := range x {
		b = binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(v))
	}
	return b
}

// appendMsgpackUint writes v in the fewest bytes, as msgpack's
// Encoder.EncodeUint.
func appendMsgpackUint(b []byte, v uint64) []byte {
	switch {
	case v <= math.MaxInt8:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

// appendMsgpackInt writes v in the fewest bytes, as msgpack's
// Encoder.EncodeInt.
func appendMsgpackInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendMsgpackUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}
