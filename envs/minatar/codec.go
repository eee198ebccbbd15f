package minatar

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// enc appends the values of a snapshot: ints as zig-zag varints, bools as
// one byte.
type enc struct{ b []byte }

func (e *enc) int(v int) { e.b = binary.AppendVarint(e.b, int64(v)) }

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *enc) grid(g *[10][10]bool) {
	for y := range g {
		for x := range g[y] {
			e.bool(g[y][x])
		}
	}
}

// errCorrupt is wrapped by every decoding error of a snapshot.
var errCorrupt = errors.New("corrupt snapshot")

// dec reads what enc wrote; the first error sticks and later reads return
// zero values.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorrupt, fmt.Sprintf(format, args...))
	}
}

func (d *dec) int() int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || v != int64(int32(v)) {
		d.fail("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

// intIn reads an int and checks lo <= v <= hi.
func (d *dec) intIn(name string, lo, hi int) int {
	v := d.int()
	if d.err == nil && (v < lo || v > hi) {
		d.fail("%s = %d outside [%d, %d]", name, v, lo, hi)
		return lo
	}
	return v
}

func (d *dec) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail("bad bool")
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

func (d *dec) grid(g *[10][10]bool) {
	for y := range g {
		for x := range g[y] {
			g[y][x] = d.bool()
		}
	}
}

// count reads a list length; each element takes at least minBytes, so a
// length the remaining bytes cannot hold is rejected before anything is
// allocated for it.
func (d *dec) count(name string, minBytes int) int {
	n := d.int()
	if d.err == nil && (n < 0 || n*minBytes > len(d.b)) {
		d.fail("%s: %d elements do not fit %d bytes", name, n, len(d.b))
		return 0
	}
	return n
}
