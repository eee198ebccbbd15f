package tensorboard

// This file is a test-only reader of event files, written apart from the
// writer: it takes records apart by hand (its own CRC32C table and mask),
// and decodes protobuf generically (field number → raw values) with
// protowire's Consume functions, so a wrong field number or wire type in
// the writer shows up as a missing or mistyped field here.

import (
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// crc32cTable is built from the Castagnoli polynomial in reversed form
// (0x82F63B78, RFC 3720 §B.4), not taken from hash/crc32.
var crc32cTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ 0x82F63B78
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func testCRC32C(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c = crc32cTable[byte(c)^x] ^ c>>8
	}
	return ^c
}

// testMask is TFRecord's mask, written as a rotation.
func testMask(c uint32) uint32 { return bits.RotateLeft32(c, -15) + 0xa282ead8 }

// readRecords splits an event file into records, checking both CRCs.
func readRecords(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var recs [][]byte
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, fmt.Errorf("truncated header: %d bytes", len(b))
		}
		n := binary.LittleEndian.Uint64(b[:8])
		if got, want := binary.LittleEndian.Uint32(b[8:12]), testMask(testCRC32C(b[:8])); got != want {
			return nil, fmt.Errorf("length crc %#x; want %#x", got, want)
		}
		b = b[12:]
		if uint64(len(b)) < n+4 {
			return nil, fmt.Errorf("truncated record: want %d bytes, have %d", n+4, len(b))
		}
		data := b[:n]
		if got, want := binary.LittleEndian.Uint32(b[n:n+4]), testMask(testCRC32C(data)); got != want {
			return nil, fmt.Errorf("data crc %#x; want %#x", got, want)
		}
		recs = append(recs, data)
		b = b[n+4:]
	}
	return recs, nil
}

// field is one decoded protobuf field occurrence.
type field struct {
	typ protowire.Type
	u   uint64 // varint, fixed32, fixed64
	b   []byte // bytes
}

// message maps field numbers to their occurrences, in order.
type message map[protowire.Number][]field

func decode(b []byte) (message, error) {
	m := message{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		var f field
		f.typ = typ
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		m[num] = append(m[num], f)
	}
	return m, nil
}

func (m message) has(num protowire.Number) bool { return len(m[num]) > 0 }

func (m message) str(num protowire.Number) string {
	if fs := m[num]; len(fs) > 0 && fs[len(fs)-1].typ == protowire.BytesType {
		return string(fs[len(fs)-1].b)
	}
	return ""
}

func (m message) sub(num protowire.Number) message {
	if fs := m[num]; len(fs) > 0 && fs[len(fs)-1].typ == protowire.BytesType {
		if s, err := decode(fs[len(fs)-1].b); err == nil {
			return s
		}
	}
	return message{}
}

func (m message) varint(num protowire.Number) uint64 {
	if fs := m[num]; len(fs) > 0 && fs[len(fs)-1].typ == protowire.VarintType {
		return fs[len(fs)-1].u
	}
	return 0
}

func (m message) double(num protowire.Number) float64 {
	if fs := m[num]; len(fs) > 0 && fs[len(fs)-1].typ == protowire.Fixed64Type {
		return math.Float64frombits(fs[len(fs)-1].u)
	}
	return math.NaN()
}

func (m message) float(num protowire.Number) (float32, bool) {
	if fs := m[num]; len(fs) > 0 && fs[len(fs)-1].typ == protowire.Fixed32Type {
		return math.Float32frombits(uint32(fs[len(fs)-1].u)), true
	}
	return 0, false
}

// event is an Event as the test reads it.
type event struct {
	wall        float64
	step        int64
	fileVersion string
	values      []value
}

// value is a Summary.Value as the test reads it.
type value struct {
	tag      string
	simple   float32
	isSimple bool
	plugin   string
	content  message // the plugin content, decoded
	tensor   message
}

// readEvents decodes every Event of an event file.
func readEvents(path string) ([]event, error) {
	recs, err := readRecords(path)
	if err != nil {
		return nil, err
	}
	var evs []event
	for _, r := range recs {
		m, err := decode(r)
		if err != nil {
			return nil, err
		}
		ev := event{wall: m.double(1), step: int64(m.varint(2)), fileVersion: m.str(3)}
		for _, f := range m.sub(5)[1] { // Event.summary = 5, Summary.value = 1
			vm, err := decode(f.b)
			if err != nil {
				return nil, err
			}
			v := value{tag: vm.str(1), tensor: vm.sub(8)}
			v.simple, v.isSimple = vm.float(2)
			pd := vm.sub(9).sub(1) // metadata.plugin_data
			v.plugin = pd.str(1)
			v.content, _ = decode([]byte(pd.str(2)))
			ev.values = append(ev.values, v)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// readProgress reads progress.csv into one map per row; empty cells are
// absent.
func readProgress(t interface {
	Helper()
	Fatal(...any)
}, path string) []map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]float64
	for _, rec := range recs[1:] {
		row := map[string]float64{}
		for i, s := range rec {
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			row[recs[0][i]] = v
		}
		rows = append(rows, row)
	}
	return rows
}
