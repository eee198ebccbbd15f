package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes is the largest config file Load and Parse read: configs
// are hand-written, and a huge one (a runaway generator, a wrong file)
// would otherwise take gigabytes to parse.
const MaxFileBytes = 1 << 20

// MaxStringBytes is the longest string value (or key) a config may hold.
const MaxStringBytes = 4096

// MaxDepth is the deepest a config's mappings and lists may nest. The
// deepest shipped config nests 4 levels (tune's search spaces a few
// more); the walks below build each value's dotted key level by level, so
// a 45 KB file nested 9,000 deep took 220 MB before this bound.
const MaxDepth = 64

// MaxNameBytes is the longest name: it becomes a directory name
// (runs/<name>-<time>) and labels every report.
const MaxNameBytes = 128

// valueError is a bad value found in the YAML node tree, before decoding.
type valueError struct {
	line int
	key  string
	msg  string
}

func (e *valueError) Error() string { return fmt.Sprintf("line %d: %s: %s", e.line, e.key, e.msg) }

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// checkNodes walks the document root against the type it decodes into
// (t): every string is at most MaxStringBytes, and every number for an
// integer-typed key is a whole number — yaml.v3 truncates 4.5 to 4.
func checkNodes(root *yaml.Node, t reflect.Type) error {
	if err := checkLengths(root, "", 0); err != nil {
		return err
	}
	return checkWhole(root, t, "")
}

func checkLengths(n *yaml.Node, key string, depth int) error {
	if n == nil {
		return nil
	}
	if depth > MaxDepth {
		if len(key) > 64 {
			key = key[:64] + "…"
		}
		return &valueError{line: n.Line, key: key, msg: fmt.Sprintf("nested more than %d levels deep", MaxDepth)}
	}
	if n.Kind == yaml.ScalarNode && len(n.Value) > MaxStringBytes {
		k := key
		if k == "" {
			k = "value"
		}
		return &valueError{line: n.Line, key: k, msg: fmt.Sprintf("%d bytes long; the limit is %d", len(n.Value), MaxStringBytes)}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkLengths(c, key, depth); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkLengths(c, fmt.Sprintf("%s[%d]", key, i), depth+1); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if len(k.Value) > MaxStringBytes {
				return &valueError{line: k.Line, key: joinKey(key, k.Value[:32]+"…"), msg: fmt.Sprintf("key %d bytes long; the limit is %d", len(k.Value), MaxStringBytes)}
			}
			if err := checkLengths(n.Content[i+1], joinKey(key, k.Value), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func checkWhole(n *yaml.Node, t reflect.Type, key string) error {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if err := checkWhole(c, t, key); err != nil {
				return err
			}
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return checkWhole(n.Alias, t, key)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // decodes itself
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
			return nil
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return &valueError{line: n.Line, key: key, msg: fmt.Sprintf("want a whole number, got %s", n.Value)}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			f, ok := fieldByTag(t, n.Content[i].Value)
			if !ok {
				continue // an unknown key: the strict decoder names it
			}
			if err := checkWhole(n.Content[i+1], f.Type, joinKey(key, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, c := range n.Content {
			if err := checkWhole(c, t.Elem(), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkWhole(n.Content[i+1], t.Elem(), joinKey(key, n.Content[i].Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// parserProblems are yaml.v3's parser (not scanner) errors. yaml.v3
// reports them with the 0-based line of where the construct began (a
// flow mapping's "{"), one less than the line the mistake is on.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxLine returns the 1-based line of a yaml.v3 syntax error message
// ("line N: problem" or just "problem") and the problem, correcting
// yaml.v3's off-by-one for parser errors; line 0 means unknown.
func syntaxLine(msg string) (int, string) {
	line, problem := 0, msg
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		problem = m[2]
	}
	for _, p := range parserProblems {
		if problem == p {
			return line + 1, problem
		}
	}
	return line, problem
}
