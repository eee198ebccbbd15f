package serve

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// RequestError is a request the server refuses: Field names the request
// field at fault (observation[2], observations[1], session, ...) and Msg
// says what is wrong with it. HTTP answers it with 400, gRPC with
// InvalidArgument.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func badField(field, format string, args ...any) *RequestError {
	return &RequestError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// maxSessionID bounds a session id's length in bytes.
const maxSessionID = 128

// jsonDecoder parses an act request body into a call, without reflection
// and without allocating for a well-formed request: the JSON grammar of
// RFC 8259 restricted to the request's fields. Session ids are kept as
// slices of the body.
type jsonDecoder struct {
	b   []byte
	i   int
	c   *call
	max int // rows
}

// decodeAct fills c from body. dim is the length of one observation as
// sent (a frame when the server stacks frames), full the policy's input
// length (what a request without a session sends), maxRows the most
// observations one request may carry.
func decodeAct(body []byte, c *call, frame, full, maxRows int) error {
	d := jsonDecoder{b: body, c: c, max: maxRows}
	if err := d.object(); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return &RequestError{Msg: fmt.Sprintf("unexpected data after the JSON object at byte %d", d.i)}
	}
	return checkShapes(c, frame, full)
}

// checkShapes checks what a decoder filled: one of observation and
// observations, and each observation's length (a frame with a session,
// the whole input without).
func checkShapes(c *call, frame, full int) error {
	if c.rows == 0 {
		if c.batch {
			return badField("observations", "empty list")
		}
		return badField("observation", "required (or observations, a list of them)")
	}
	if len(c.sessions) > 0 && len(c.sessions) != c.rows {
		if !c.batch {
			return badField("session", "give sessions (a list) with observations")
		}
		return badField("sessions", "%d ids for %d observations", len(c.sessions), c.rows)
	}
	if len(c.resets) > 0 && len(c.resets) != c.rows {
		return badField("resets", "%d values for %d observations", len(c.resets), c.rows)
	}
	if len(c.resets) > 0 && len(c.sessions) == 0 {
		if c.batch {
			return badField("resets", "need sessions")
		}
		return badField("reset", "needs a session")
	}
	want := full
	if len(c.sessions) > 0 {
		want = frame
	}
	for r, n := range c.lens {
		if int(n) != want {
			name := "observation"
			if c.batch {
				name = indexed("observations", r)
			}
			if len(c.sessions) > 0 && want != full {
				return badField(name, "has %d values, want %d (one frame: the server stacks %d frames per session)", n, want, full/want)
			}
			return badField(name, "has %d values, want %d", n, want)
		}
	}
	return nil
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) syntax(field, want string) error {
	if d.i >= len(d.b) {
		return badField(field, "want %s, got the end of the body", want)
	}
	return badField(field, "want %s at byte %d", want, d.i)
}

// expect consumes byte ch after whitespace.
func (d *jsonDecoder) expect(ch byte, field, want string) error {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ch {
		return d.syntax(field, want)
	}
	d.i++
	return nil
}

// peek returns the next byte after whitespace (0 at the end).
func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

func (d *jsonDecoder) object() error {
	if err := d.expect('{', "", "a JSON object"); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	seen := 0
	for {
		key, err := d.key()
		if err != nil {
			return err
		}
		if err := d.expect(':', "", "':'"); err != nil {
			return badField(string(key), "want ':' after the field name")
		}
		bit, err := d.field(key, seen)
		if err != nil {
			return err
		}
		seen |= bit
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.syntax("", "',' or '}'")
		}
	}
}

// key reads an object key: a string without escapes.
func (d *jsonDecoder) key() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.syntax("", "a field name")
	}
	d.i++
	start := d.i
	for d.i < len(d.b) && d.b[d.i] != '"' {
		if d.b[d.i] == '\\' || d.b[d.i] < 0x20 || d.i-start > 64 {
			return nil, &RequestError{Msg: fmt.Sprintf("unknown field at byte %d", start)}
		}
		d.i++
	}
	if d.i >= len(d.b) {
		return nil, d.syntax("", "a closing '\"'")
	}
	d.i++
	return d.b[start : d.i-1], nil
}

const (
	fObservation = 1 << iota
	fObservations
	fExplore
	fSeed
	fSession
	fSessions
	fReset
	fResets
	fProbs
	fQValues
)

func (d *jsonDecoder) field(key []byte, seen int) (int, error) {
	c := d.c
	var bit int
	var err error
	switch string(key) { // no allocation: the compiler compares in place
	case "observation":
		bit = fObservation
		if seen&(fObservation|fObservations) != 0 {
			return 0, badField("observation", "give observation or observations, once")
		}
		err = d.row(0)
		c.rows = 1
	case "observations":
		bit = fObservations
		if seen&(fObservation|fObservations) != 0 {
			return 0, badField("observations", "give observation or observations, once")
		}
		c.batch = true
		err = d.rows()
	case "explore":
		bit = fExplore
		c.explore, err = d.boolean("explore")
	case "probs":
		bit = fProbs
		c.probs, err = d.boolean("probs")
	case "q_values":
		bit = fQValues
		c.qValues, err = d.boolean("q_values")
	case "seed":
		bit = fSeed
		c.seed, err = d.uint("seed")
		c.hasSeed = err == nil
	case "session":
		bit = fSession
		if seen&fSessions != 0 {
			return 0, badField("session", "give session or sessions, not both")
		}
		var s []byte
		if s, err = d.sessionID("session", -1); err == nil {
			c.sessions = append(c.sessions[:0], sessionRef{b: s})
		}
	case "sessions":
		bit = fSessions
		if seen&fSession != 0 {
			return 0, badField("sessions", "give session or sessions, not both")
		}
		err = d.sessionIDs()
	case "reset":
		bit = fReset
		var r bool
		if r, err = d.boolean("reset"); err == nil {
			c.resets = append(c.resets[:0], r)
		}
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
	if err != nil {
		return 0, err
	}
	if seen&bit != 0 {
		return 0, badField(string(key), "given twice")
	}
	return bit, nil
}

func (d *jsonDecoder) boolean(field string) (bool, error) {
	d.ws()
	switch {
	case hasPrefix(d.b[d.i:], "true"):
		d.i += 4
		return true, nil
	case hasPrefix(d.b[d.i:], "false"):
		d.i += 5
		return false, nil
	}
	return false, d.syntax(field, "true or false")
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

func (d *jsonDecoder) uint(field string) (uint64, error) {
	d.ws()
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	v, err := strconv.ParseUint(string(d.b[start:d.i]), 10, 64)
	if err != nil {
		return 0, d.syntax(field, "an integer in [0, 2^64)")
	}
	return v, nil
}

// sessionID reads a session id: 1 to 128 bytes of printable ASCII other
// than '"' and '\'. i is its index in a list field (-1: not a list).
func (d *jsonDecoder) sessionID(list string, i int) ([]byte, error) {
	id, err := d.sessionIDBytes()
	if err != nil {
		field := list
		if i >= 0 {
			field = indexed(list, i)
		}
		return nil, badField(field, "%s", err.Error())
	}
	return id, nil
}

// sessionIDBytes reads a session id; its errors are plain messages that
// sessionID attributes to the field.
func (d *jsonDecoder) sessionIDBytes() ([]byte, error) {
	if d.peek() != '"' {
		return nil, errNotString
	}
	d.i++
	start := d.i
	for d.i < len(d.b) && d.b[d.i] != '"' {
		if ch := d.b[d.i]; ch < 0x20 || ch > 0x7e || ch == '\\' {
			return nil, errSessionChars
		}
		d.i++
	}
	if d.i >= len(d.b) {
		return nil, errNotString
	}
	id := d.b[start:d.i]
	d.i++
	if len(id) == 0 || len(id) > maxSessionID {
		return nil, fmt.Errorf("want 1 to %d bytes, got %d", maxSessionID, len(id))
	}
	return id, nil
}

var (
	errNotString    = errors.New("want a string")
	errSessionChars = errors.New("want printable ASCII without '\\'")
)

func (d *jsonDecoder) sessionIDs() error {
	c := d.c
	c.sessions = c.sessions[:0]
	if err := d.expect('[', "sessions", "a list of session ids"); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if len(c.sessions) >= d.max {
			return badField("sessions", "more than %d ids", d.max)
		}
		id, err := d.sessionID("sessions", len(c.sessions))
		if err != nil {
			return err
		}
		c.sessions = append(c.sessions, sessionRef{b: id})
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.syntax("sessions", "',' or ']'")
		}
	}
}

func (d *jsonDecoder) bools() error {
	c := d.c
	c.resets = c.resets[:0]
	if err := d.expect('[', "resets", "a list of true or false"); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if len(c.resets) >= d.max {
			return badField("resets", "more than %d values", d.max)
		}
		v, err := d.boolean("resets")
		if err != nil {
			return err
		}
		c.resets = append(c.resets, v)
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.syntax("resets", "',' or ']'")
		}
	}
}

// indexed names element i of a list field for an error message (it
// allocates, on the error path only).
func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// rows reads a list of observations.
func (d *jsonDecoder) rows() error {
	if err := d.expect('[', "observations", "a list of observations"); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if d.c.rows >= d.max {
			return badField("observations", "more than %d observations (the limit of one request)", d.max)
		}
		if err := d.row(d.c.rows); err != nil {
			return err
		}
		d.c.rows++
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.syntax("observations", "',' or ']'")
		}
	}
}

// rowName names observation r for an error message (allocating, on the
// error path only).
func (d *jsonDecoder) rowName(r int) string {
	if d.c.batch {
		return indexed("observations", r)
	}
	return "observation"
}

// row reads observation r (a list of finite numbers) onto c.frames and
// its length onto c.lens; lengths are checked once the whole request is
// read (with a session an observation is one frame).
func (d *jsonDecoder) row(r int) error {
	c := d.c
	if err := d.expect('[', "", "a list of numbers"); err != nil {
		return badField(d.rowName(r), "want a list of numbers")
	}
	start := len(c.frames)
	if d.peek() == ']' {
		d.i++
		return badField(d.rowName(r), "empty")
	}
	for {
		d.ws()
		j := d.i
		for d.i < len(d.b) {
			ch := d.b[d.i]
			if (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E' {
				d.i++
				continue
			}
			break
		}
		tok := d.b[j:d.i]
		k := len(c.frames) - start
		if len(tok) == 0 || string(tok) == "-" {
			for d.i < len(d.b) && ((d.b[d.i] >= 'A' && d.b[d.i] <= 'Z') || (d.b[d.i] >= 'a' && d.b[d.i] <= 'z')) {
				d.i++
			}
			switch string(d.b[j:d.i]) {
			case "NaN", "-NaN", "Infinity", "-Infinity", "inf", "-inf", "nan":
				return badField(indexed(d.rowName(r), k), "NaN or infinite values are not accepted")
			}
			return badField(indexed(d.rowName(r), k), "want a number")
		}
		v, err := strconv.ParseFloat(string(tok), 32)
		if err != nil || math.IsInf(v, 0) {
			if err != nil && !isRange(err) {
				return badField(indexed(d.rowName(r), k), "want a number, got %q", tok)
			}
			return badField(indexed(d.rowName(r), k), "%s is outside float32's range", tok)
		}
		if k >= 1<<20 {
			return badField(d.rowName(r), "more than 2^20 values")
		}
		c.frames = append(c.frames, float32(v))
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			c.lens = append(c.lens, int32(len(c.frames)-start))
			return nil
		default:
			return badField(d.rowName(r), "want ',' or ']' at byte %d", d.i)
		}
	}
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
