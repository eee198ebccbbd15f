// Package tensorboard writes TensorBoard event files without TensorFlow:
// the TFRecord framing (length, masked CRC32C of the length, data, masked
// CRC32C of the data) around hand-encoded Event protobufs, so that
// `tensorboard --logdir runs` shows rlgo's runs.
//
// The messages follow tensorboard/compat/proto/event.proto and
// summary.proto, and the hparams plugin's plugin_data.proto; field
// numbers are cited next to each encoder.
package tensorboard

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// FileVersion is the file_version of the first event of every file;
// TensorBoard's readers check for the "brain.Event:" prefix.
const FileVersion = "brain.Event:2"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC32C (tensorflow/core/lib/hash/crc32c.h):
// rotate right by 15 bits and add a constant, so that a CRC of data that
// itself holds CRCs does not degenerate.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// appendRecord frames data as one TFRecord: uint64 length (little
// endian), masked CRC32C of those 8 bytes, data, masked CRC32C of data.
func appendRecord(dst, data []byte) []byte {
	var hdr [8]byte
	binary.LittleEndian.PutUint64(hdr[:], uint64(len(data)))
	dst = append(dst, hdr[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, maskedCRC(hdr[:]))
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, maskedCRC(data))
}

// Scalar is one tagged value of a summary.
type Scalar struct {
	Tag   string
	Value float64
}

// Writer appends events to one event file. It is not safe for
// concurrent use.
type Writer struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	rec  []byte
}

var fileSeq atomic.Uint64

// NewWriter creates dir and a new event file in it, named as
// TensorFlow's writers name theirs
// (events.out.tfevents.<unix seconds>.<host>.<pid>.<n>, so TensorBoard
// picks it up and two writers never collide), and writes the file_version
// event.
func NewWriter(dir string, now time.Time) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	name := fmt.Sprintf("events.out.tfevents.%010d.%s.%d.%d", now.Unix(), host, os.Getpid(), fileSeq.Add(1))
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &Writer{path: path, f: f, buf: bufio.NewWriter(f)}
	if err := w.write(fileVersionEvent(now)); err != nil {
		f.Close()
		return nil, err
	}
	return w, w.Flush()
}

// Path returns the event file's path.
func (w *Writer) Path() string { return w.path }

// Scalars writes one event at step holding every value as a
// simple_value, which TensorBoard's scalar dashboard shows. Non-finite
// values are skipped.
func (w *Writer) Scalars(step int64, wall time.Time, values []Scalar) error {
	var sum []byte
	for _, v := range values {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			continue
		}
		sum = protowire.AppendTag(sum, 1, protowire.BytesType) // Summary.value = 1
		sum = protowire.AppendBytes(sum, scalarValue(v.Tag, float32(v.Value)))
	}
	if len(sum) == 0 {
		return nil
	}
	return w.write(summaryEvent(wall, step, sum))
}

// Text writes a text-plugin summary (rendered as Markdown by TensorBoard's
// Text dashboard) at step.
func (w *Writer) Text(tag string, step int64, wall time.Time, text string) error {
	v := protowire.AppendTag(nil, 1, protowire.BytesType) // Value.tag = 1
	v = protowire.AppendString(v, tag)
	v = protowire.AppendTag(v, 9, protowire.BytesType) // Value.metadata = 9
	v = protowire.AppendBytes(v, pluginMetadata("text", nil))
	v = protowire.AppendTag(v, 8, protowire.BytesType) // Value.tensor = 8
	v = protowire.AppendBytes(v, stringTensor(text))
	sum := protowire.AppendTag(nil, 1, protowire.BytesType)
	sum = protowire.AppendBytes(sum, v)
	return w.write(summaryEvent(wall, step, sum))
}

// HParam is one hyperparameter for the HParams dashboard; Value is a
// float64, a string or a bool.
type HParam struct {
	Name  string
	Value any
}

// SessionStart writes the hparams plugin's session_start_info: the run's
// hyperparameters, and group, the name that puts runs differing only in
// seed into one session group.
func (w *Writer) SessionStart(wall time.Time, hparams []HParam, group string) error {
	var info []byte // SessionStartInfo
	for _, h := range hparams {
		entry := protowire.AppendTag(nil, 1, protowire.BytesType) // map entry key = 1
		entry = protowire.AppendString(entry, h.Name)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType) // map entry value = 2
		entry = protowire.AppendBytes(entry, structValue(h.Value))
		info = protowire.AppendTag(info, 1, protowire.BytesType) // hparams = 1
		info = protowire.AppendBytes(info, entry)
	}
	if group != "" {
		info = protowire.AppendTag(info, 4, protowire.BytesType) // group_name = 4
		info = protowire.AppendString(info, group)
	}
	info = protowire.AppendTag(info, 5, protowire.Fixed64Type) // start_time_secs = 5
	info = protowire.AppendFixed64(info, math.Float64bits(unixSeconds(wall)))
	return w.hparamsEvent(wall, "_hparams_/session_start_info", 3, info) // HParamsPluginData.session_start_info = 3
}

// Session statuses of the hparams plugin (api.proto's Status).
const (
	StatusUnknown = 0
	StatusSuccess = 1
	StatusFailure = 2
	StatusRunning = 3
)

// SessionEnd writes the hparams plugin's session_end_info.
func (w *Writer) SessionEnd(wall time.Time, status int) error {
	var info []byte // SessionEndInfo
	if status != 0 {
		info = protowire.AppendTag(info, 1, protowire.VarintType) // status = 1
		info = protowire.AppendVarint(info, uint64(status))
	}
	info = protowire.AppendTag(info, 2, protowire.Fixed64Type) // end_time_secs = 2
	info = protowire.AppendFixed64(info, math.Float64bits(unixSeconds(wall)))
	return w.hparamsEvent(wall, "_hparams_/session_end_info", 4, info) // HParamsPluginData.session_end_info = 4
}

// hparamsEvent writes a summary whose only content is the hparams
// plugin's metadata, with the zero-length float tensor the plugin's own
// writer uses (tensorboard/plugins/hparams/metadata.py NULL_TENSOR).
func (w *Writer) hparamsEvent(wall time.Time, tag string, field protowire.Number, data []byte) error {
	var content []byte // HParamsPluginData; version = 1 is 0 and so omitted
	content = protowire.AppendTag(content, field, protowire.BytesType)
	content = protowire.AppendBytes(content, data)
	v := protowire.AppendTag(nil, 1, protowire.BytesType)
	v = protowire.AppendString(v, tag)
	v = protowire.AppendTag(v, 9, protowire.BytesType)
	v = protowire.AppendBytes(v, pluginMetadata("hparams", content))
	v = protowire.AppendTag(v, 8, protowire.BytesType)
	v = protowire.AppendBytes(v, nullTensor())
	sum := protowire.AppendTag(nil, 1, protowire.BytesType)
	sum = protowire.AppendBytes(sum, v)
	return w.write(summaryEvent(wall, 0, sum))
}

// Flush writes buffered events to the file.
func (w *Writer) Flush() error {
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("tensorboard: %w", cerr)
	}
	return err
}

func (w *Writer) write(event []byte) error {
	w.rec = appendRecord(w.rec[:0], event)
	if _, err := w.buf.Write(w.rec); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

// eventHeader encodes Event.wall_time = 1 (double) and Event.step = 2 (int64).
func eventHeader(wall time.Time, step int64) []byte {
	b := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(unixSeconds(wall)))
	if step != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(step))
	}
	return b
}

func fileVersionEvent(wall time.Time) []byte {
	b := eventHeader(wall, 0)
	b = protowire.AppendTag(b, 3, protowire.BytesType) // Event.file_version = 3
	return protowire.AppendString(b, FileVersion)
}

func summaryEvent(wall time.Time, step int64, summary []byte) []byte {
	b := eventHeader(wall, step)
	b = protowire.AppendTag(b, 5, protowire.BytesType) // Event.summary = 5
	return protowire.AppendBytes(b, summary)
}

// scalarValue encodes Summary.Value{tag = 1, simple_value = 2 (float)}.
func scalarValue(tag string, v float32) []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendString(b, tag)
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

// pluginMetadata encodes SummaryMetadata{plugin_data = 1:
// PluginData{plugin_name = 1, content = 2}}.
func pluginMetadata(plugin string, content []byte) []byte {
	pd := protowire.AppendTag(nil, 1, protowire.BytesType)
	pd = protowire.AppendString(pd, plugin)
	if len(content) > 0 {
		pd = protowire.AppendTag(pd, 2, protowire.BytesType)
		pd = protowire.AppendBytes(pd, content)
	}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, pd)
}

// TensorProto fields (tensorboard/compat/proto/tensor.proto) and dtypes
// (types.proto).
const (
	dtFloat  = 1
	dtString = 7
)

// stringTensor encodes a rank-0 TensorProto{dtype = 1: DT_STRING,
// tensor_shape = 2: {}, string_val = 8}.
func stringTensor(s string) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, dtString)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, nil)
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// nullTensor encodes TensorProto{dtype: DT_FLOAT, tensor_shape:
// {dim = 2: [{size = 1: 0}]}}: a float vector of length zero.
func nullTensor() []byte {
	dim := []byte(nil) // TensorShapeProto.Dim{size: 0}: every field default
	shape := protowire.AppendTag(nil, 2, protowire.BytesType)
	shape = protowire.AppendBytes(shape, dim)
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, dtFloat)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, shape)
}

// structValue encodes a google.protobuf.Value: number_value = 2
// (double), string_value = 3, bool_value = 4. Other types are written as
// their fmt.Sprint string.
func structValue(v any) []byte {
	switch x := v.(type) {
	case float64:
		b := protowire.AppendTag(nil, 2, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(x))
	case int:
		return structValue(float64(x))
	case int64:
		return structValue(float64(x))
	case uint64:
		return structValue(float64(x))
	case bool:
		b := protowire.AppendTag(nil, 4, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(x))
	case string:
		b := protowire.AppendTag(nil, 3, protowire.BytesType)
		return protowire.AppendString(b, x)
	default:
		return structValue(fmt.Sprint(v))
	}
}
