package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// step is a representative message between rlgo processes.
type step struct {
	ID     string
	Obs    []float32
	Done   []bool
	M      map[string]float64
	Nested []struct {
		A int
		B []byte
	}
}

func sampleStep() step {
	s := step{
		ID:   "env-3/step-17",
		Obs:  []float32{0.5, -1.25, 3e7, 0},
		Done: []bool{false, true, false},
		M:    map[string]float64{"reward": 1.5, "loss": -0.25},
	}
	s.Nested = append(s.Nested, struct {
		A int
		B []byte
	}{A: -70000, B: []byte("abc")}, struct {
		A int
		B []byte
	}{A: 1 << 40, B: make([]byte, 300)})
	return s
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	type inner struct {
		Name string
		Vals []float64
	}
	type outer struct {
		Obs    []float32
		Done   []bool
		Names  []string
		Inner  inner
		Many   []inner
		Counts map[string]int
		Deep   map[string][]map[string]int8
	}
	want := outer{
		Obs:    []float32{1, -2.5, 1e-9},
		Done:   []bool{true, false},
		Names:  []string{"", "a", strings.Repeat("x", 40), strings.Repeat("y", 300), strings.Repeat("z", 70000)},
		Inner:  inner{Name: "in", Vals: []float64{3.25}},
		Many:   []inner{{Name: "a"}, {Name: "b", Vals: make([]float64, 20)}},
		Counts: map[string]int{"a": 1, "b": -200, "c": 1 << 33},
		Deep:   map[string][]map[string]int8{"k": {{"x": -3}, {}}},
	}
	var got outer
	if err := Unmarshal(mustMarshal(t, want), &got, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}

	s := sampleStep()
	var gs step
	if err := Unmarshal(mustMarshal(t, s), &gs, Limits{}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gs, s) {
		t.Fatalf("round trip: got %+v, want %+v", gs, s)
	}
}

// TestValidFormats covers every msgpack format, both hand-written and as
// encoded by msgpack.
func TestValidFormats(t *testing.T) {
	hand := map[string][]byte{
		"posfixint": {0x7f},
		"negfixint": {0xe0},
		"nil":       {0xc0},
		"false":     {0xc2},
		"true":      {0xc3},
		"fixmap":    {0x81, 0xa1, 'k', 0x01},
		"fixarray":  {0x92, 0x01, 0xc0},
		"fixstr":    {0xa3, 'a', 'b', 'c'},
		"empty":     {0x90},
		"bin8":      {0xc4, 0x02, 1, 2},
		"bin16":     {0xc5, 0x00, 0x01, 9},
		"bin32":     {0xc6, 0, 0, 0, 1, 9},
		"ext8":      {0xc7, 0x02, 0x05, 1, 2},
		"ext16":     {0xc8, 0x00, 0x01, 0x05, 1},
		"ext32":     {0xc9, 0, 0, 0, 0, 0x05},
		"float32":   {0xca, 0x3f, 0x80, 0, 0},
		"float64":   {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0},
		"uint8":     {0xcc, 0xff},
		"uint16":    {0xcd, 0xff, 0xff},
		"uint32":    {0xce, 0xff, 0xff, 0xff, 0xff},
		"uint64":    {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"int8":      {0xd0, 0x80},
		"int16":     {0xd1, 0x80, 0},
		"int32":     {0xd2, 0x80, 0, 0, 0},
		"int64":     {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0},
		"fixext1":   {0xd4, 0x05, 1},
		"fixext2":   {0xd5, 0x05, 1, 2},
		"fixext4":   {0xd6, 0x05, 1, 2, 3, 4},
		"fixext8":   {0xd7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8},
		"fixext16":  append([]byte{0xd8, 0x05}, make([]byte, 16)...),
		"str8":      {0xd9, 0x01, 'a'},
		"str16":     {0xda, 0x00, 0x01, 'a'},
		"str32":     {0xdb, 0, 0, 0, 1, 'a'},
		"array16":   {0xdc, 0x00, 0x02, 0x01, 0x02},
		"array32":   {0xdd, 0, 0, 0, 1, 0xc0},
		"map16":     {0xde, 0x00, 0x01, 0x01, 0x02},
		"map32":     {0xdf, 0, 0, 0, 1, 0xc0, 0xc0},
	}
	for name, b := range hand {
		if err := Validate(b, DefaultLimits); err != nil {
			t.Errorf("%s % x: %v", name, b, err)
		}
	}
	big := make([]int, 70000)
	for i := range big {
		big[i] = i
	}
	bigMap := make(map[int]bool, 70000)
	for i := range 70000 {
		bigMap[i] = true
	}
	encoded := []any{
		nil, true, -1, -33, 200, 70000, 1 << 40, -(1 << 40), int8(-100), uint64(1 << 63),
		float32(1.5), 2.5, "", strings.Repeat("s", 1<<16), make([]byte, 1<<16),
		big, bigMap, map[string]any{"a": []any{1, "b", nil, map[string]any{}}},
		msgpack.RawMessage{0xc0},
	}
	for _, v := range encoded {
		b := mustMarshal(t, v)
		if err := Validate(b, DefaultLimits); err != nil {
			t.Errorf("%T: %v", v, err)
		}
	}
}

func repeat(head []byte, n int, tail ...byte) []byte {
	return append(bytes.Repeat(head, n), tail...)
}

// hostile are inputs that Validate must reject, each with a fragment of the
// error it must give.
var hostile = []struct {
	name, want string
	b          []byte
}{
	{"array32 bomb", "array at offset 0 declares 4294967295 elements but only 0 bytes remain", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
	{"array16 bomb", "array at offset 0 declares 65535 elements but only 2 bytes remain", []byte{0xdc, 0xff, 0xff, 1, 2}},
	{"bin32 bomb", "bin at offset 0 declares 4294967295 bytes but only 0 remain", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}},
	{"str32 bomb", "str at offset 0 declares 4294967295 bytes", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}},
	{"ext32 bomb", "ext at offset 0 declares 4294967296 bytes", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0x05}},
	{"map32 bomb", "map at offset 0 declares 4294967295 pairs but only 0 bytes remain", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
	{"nested map32", "map at offset 0 declares 4294967295 pairs but only 135 bytes remain", bytes.Repeat([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, 28)},
	{"nested map32 of one pair", "map at offset 132 declares 4294967295 pairs", repeat([]byte{0xdf, 0, 0, 0, 1, 0xc0}, 22, 0xdf, 0xff, 0xff, 0xff, 0xff)},
	{"array in array bomb", "array at offset 1 declares 4294967295 elements but only 2 bytes remain", []byte{0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2}},
	{"depth bomb", "array at offset 32 nests deeper than 32 levels", repeat([]byte{0x91}, 1000, 0xc0)},
	{"map depth bomb", "map at offset 64 nests deeper than 32 levels", repeat([]byte{0x81, 0xc0}, 1000, 0xc0)},
	{"elements bomb", "more than the limit of 16777216", append([]byte{0xdd, 0x01, 0x00, 0x00, 0x01}, make([]byte, 1<<24+1)...)},
	{"trailing byte", "1 trailing bytes after the value that ends at offset 1", []byte{0xc0, 0xc0}},
	{"trailing after array", "2 trailing bytes after the value that ends at offset 3", []byte{0x92, 1, 2, 3, 4}},
	{"reserved 0xc1", "reserved type byte 0xc1 at offset 0", []byte{0xc1}},
	{"nested 0xc1", "reserved type byte 0xc1 at offset 2", []byte{0x92, 0x01, 0xc1}},
	{"empty", "message ends at offset 0 where a value should start", nil},
	{"short header", "str header at offset 0 needs 4 length bytes but only 2 remain", []byte{0xdb, 0, 0}},
	{"short int", "int at offset 0 needs 8 bytes but only 3 remain", []byte{0xd3, 1, 2, 3}},
	{"missing element", "array at offset 0 declares 3 elements but only 2 bytes remain", []byte{0x93, 0x01, 0x02}},
	{"element runs out", "message ends at offset 3 where a value should start", []byte{0x92, 0xa1, 'x'}},
}

func TestRejectsHostile(t *testing.T) {
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			var v step
			err := Unmarshal(tc.b, &v, DefaultLimits)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Unmarshal(% .16x) = %v, want ErrMalformed", tc.b, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "msgpack: ") {
				t.Fatalf("error %q should start with \"msgpack: \"", err)
			}
		})
	}
}

func TestExactErrorMessage(t *testing.T) {
	b := append([]byte{0x94, 0x01, 0x02, 0x03, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff}, 1, 2, 3)
	const want = "msgpack: array at offset 11 declares 4294967295 elements but only 3 bytes remain: malformed message"
	if err := Validate(b, DefaultLimits); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestLimits(t *testing.T) {
	deep := repeat([]byte{0x91}, 32, 0xc0)
	if err := Validate(deep, DefaultLimits); err != nil {
		t.Errorf("32 levels: %v", err)
	}
	if err := Validate(deep, Limits{MaxDepth: 31}); !errors.Is(err, ErrMalformed) {
		t.Errorf("32 levels with MaxDepth 31: %v", err)
	}
	b := mustMarshal(t, make([]byte, 100))
	if err := Validate(b, Limits{MaxBytes: len(b) - 1}); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("MaxBytes: %v", err)
	}
	arr := mustMarshal(t, []int{1, 2, 3, 4})
	if err := Validate(arr, Limits{MaxElements: 4}); err != nil {
		t.Errorf("4 elements with MaxElements 4: %v", err)
	}
	if err := Validate(arr, Limits{MaxElements: 3}); !errors.Is(err, ErrMalformed) {
		t.Errorf("4 elements with MaxElements 3: %v", err)
	}
}

func TestRejectsEveryPrefix(t *testing.T) {
	s := sampleStep()
	s.Obs = append(s.Obs, make([]float32, 40)...)
	s.ID = strings.Repeat("i", 300)
	for _, v := range []any{s, map[string]any{"a": []any{int64(1) << 40, "x", 1.5}}, strings.Repeat("s", 70000)} {
		b := mustMarshal(t, v)
		for i := range len(b) {
			if err := Validate(b[:i], DefaultLimits); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%T: prefix of %d of %d bytes: got %v, want ErrMalformed", v, i, len(b), err)
			}
		}
		if err := Validate(b, DefaultLimits); err != nil {
			t.Fatalf("%T: whole message: %v", v, err)
		}
		if err := Validate(append(b, 0), DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T: trailing byte: got %v", v, err)
		}
	}
}

// TestHostileAllocation checks that rejecting each hostile input allocates
// next to nothing; msgpack.Unmarshal on the bombs would try to allocate
// gigabytes and crash the process.
func TestHostileAllocation(t *testing.T) {
	for _, tc := range hostile {
		if len(tc.b) > 1<<20 {
			continue // the input itself is large, not its declared sizes
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 10 {
			var v step
			var a any
			_ = Unmarshal(tc.b, &v, DefaultLimits)
			_ = Unmarshal(tc.b, &a, DefaultLimits)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew >= 1<<20 {
			t.Errorf("%s: rejecting it 10 times allocated %d bytes", tc.name, grew)
		}
	}
}

func TestUnmarshalDecodeError(t *testing.T) {
	var n int
	err := Unmarshal(mustMarshal(t, "not a number"), &n, DefaultLimits)
	if err == nil || errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "msgpack: decode 13 bytes into *int") {
		t.Fatalf("got %v", err)
	}
	if _, err := Marshal(make(chan int)); err == nil || !strings.HasPrefix(err.Error(), "msgpack: encode chan int") {
		t.Fatalf("Marshal(chan) = %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add(mustMarshal(f, sampleStep()))
	f.Add(mustMarshal(f, step{}))
	f.Add(mustMarshal(f, map[string]any{"ID": "x", "Obs": []any{1, 2.5, nil}, "M": map[string]any{"k": 1}}))
	for _, tc := range hostile {
		if len(tc.b) < 4096 {
			f.Add(tc.b)
		}
	}
	f.Add(mustMarshal(f, &cols{F: []float32{1, -2}, I: []int32{3}, B: []bool{true}}))
	f.Add(mustMarshal(f, []any{[]float32{1.5}, []int32{-4}, []bool{false}}))
	// msgpack builds its per-type caches on first use: do that before
	// allocations are counted.
	for _, v := range []any{new(step), new(any), new(cols)} {
		_ = Unmarshal(mustMarshal(f, sampleStep()), v, DefaultLimits)
		_, _ = Marshal(v)
		canonical(f, v)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s step
		var a any
		var c cols
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		errS := Unmarshal(b, &s, DefaultLimits)
		errA := Unmarshal(b, &a, DefaultLimits)
		errC := Unmarshal(b, &c, DefaultLimits)
		runtime.ReadMemStats(&after)
		// Once the walk has passed, every declared length is backed by
		// bytes: an element of at least one byte decodes into at most
		// ~100 bytes of Go value (a map[string]any entry), a bin into
		// its own size. Three decodes of b share the bound.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(3*(128*len(b)+16<<10)) {
			t.Fatalf("decoding %d bytes three times allocated %d bytes", len(b), grew)
		}
		err := Validate(b, DefaultLimits)
		if again := Validate(b, DefaultLimits); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Fatalf("Validate is not deterministic: %v, then %v", err, again)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !errors.Is(errS, ErrMalformed) || !errors.Is(errA, ErrMalformed) {
				t.Fatalf("rejected input: Validate %v, Unmarshal %v and %v", err, errS, errA)
			}
			return
		}
		// Accepted: msgpack's own walk must agree that b is one value.
		r := bytes.NewReader(b)
		if err := msgpack.NewDecoder(r).Skip(); err != nil || r.Len() != 0 {
			t.Fatalf("Validate accepted % x but msgpack Skip says %v with %d bytes left", b, err, r.Len())
		}
		// Round trips: what decoded re-encodes to bytes that pass the walk
		// and decode again to the same encoding (compared as canonical
		// bytes, so NaNs compare by their bits and maps by sorted keys).
		if errS == nil {
			roundTrip(t, &s, func() any { return new(step) })
		}
		if errA == nil {
			roundTrip(t, &a, func() any { return new(any) })
		}
		if errC == nil {
			roundTrip(t, &c, func() any { return new(cols) })
		}
	})
}

// canonical returns v's encoding decoded as generic msgpack data with
// maps as key-sorted pairs and floats as their bits, so that two values
// compare with reflect.DeepEqual whatever the order of map keys and
// however NaNs are spelt.
func canonical(t testing.TB, v any) any {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %T: %v", v, err)
	}
	var g any
	if err := Unmarshal(b, &g, DefaultLimits); err != nil {
		t.Fatalf("re-encoded % x does not decode: %v", b, err)
	}
	return normalize(g)
}

type floatBits struct{ bits uint64 }

func normalize(x any) any {
	pairs := func(n int, each func(func(k, v any))) any {
		ps := make([][2]any, 0, n)
		each(func(k, v any) { ps = append(ps, [2]any{normalize(k), normalize(v)}) })
		sort.Slice(ps, func(i, j int) bool { return fmt.Sprintf("%#v", ps[i][0]) < fmt.Sprintf("%#v", ps[j][0]) })
		return ps
	}
	switch v := x.(type) {
	case map[string]any:
		return pairs(len(v), func(f func(k, v any)) {
			for k, e := range v {
				f(k, e)
			}
		})
	case map[any]any:
		return pairs(len(v), func(f func(k, v any)) {
			for k, e := range v {
				f(k, e)
			}
		})
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case float32:
		return floatBits{uint64(math.Float32bits(v))}
	case float64:
		return floatBits{math.Float64bits(v)}
	}
	return x
}

// roundTrip checks that v encodes to a message that Validate accepts and
// that decodes (into newV()) to an equal value.
func roundTrip(t *testing.T, v any, newV func() any) {
	t.Helper()
	out, err := Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %T: %v", v, err)
	}
	if err := Validate(out, DefaultLimits); err != nil {
		t.Fatalf("re-encoded % x is rejected: %v", out, err)
	}
	again := newV()
	if err := Unmarshal(out, again, DefaultLimits); err != nil {
		t.Fatalf("re-encoded % x does not decode into %T: %v", out, again, err)
	}
	if a, b := canonical(t, v), canonical(t, again); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip of %T changed it:\n%v\n%v", v, a, b)
	}
}

func ExampleUnmarshal() {
	type transition struct {
		Obs    []float32
		Reward float64
		Done   bool
	}
	b, _ := Marshal(transition{Obs: []float32{0.5, -1}, Reward: 1, Done: true})
	var t transition
	fmt.Println(Unmarshal(b, &t, DefaultLimits), t)

	bomb := []byte{0xdd, 0xff, 0xff, 0xff, 0xff} // array32 of 2^32-1 elements
	err := Unmarshal(bomb, &t, DefaultLimits)
	fmt.Println(errors.Is(err, ErrMalformed))
	fmt.Println(err)
	// Output:
	// <nil> {[0.5 -1] 1 true}
	// true
	// msgpack: array at offset 0 declares 4294967295 elements but only 0 bytes remain: malformed message
}

// TestMaxDecoded checks the decoded-size model: strs and bins count their
// bytes, array elements and map entries ElemBytes each, and the walk
// stops at the header that crosses the bound (issue 13: 16.7M nils in a
// 16 MB array decoded to 1.1 GB).
func TestMaxDecoded(t *testing.T) {
	nils := append([]byte{0xdd, 0, 0x10, 0, 0}, bytes.Repeat([]byte{0xc0}, 1<<20)...) // array32 of 1M nils
	bin := mustMarshal(t, make([]byte, 1000))
	m := mustMarshal(t, map[string]int{"ab": 1}) // one pair: 2 elements + a 2-byte key
	for _, c := range []struct {
		name  string
		b     []byte
		limit int
		ok    bool
	}{
		{"1M nils unbounded", nils, 0, true},
		{"1M nils within 128 MiB", nils, 128 << 20, true},
		{"1M nils over 64 MiB", nils, 64 << 20, false},
		{"bin of 1000 within 1000", bin, 1000, true},
		{"bin of 1000 over 999", bin, 999, false},
		{"map within", m, 2*ElemBytes + 2, true},
		{"map over", m, 2*ElemBytes + 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.b, Limits{MaxDecoded: c.limit})
			if c.ok != (err == nil) {
				t.Fatalf("Validate with MaxDecoded %d: %v, want ok=%v", c.limit, err, c.ok)
			}
			if err != nil && (!errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "decoded bytes")) {
				t.Errorf("error %v does not say decoded bytes", err)
			}
		})
	}
}
