package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func write(t *testing.T, s Store, it int) {
	t.Helper()
	_, err := Write(context.Background(), s, Meta{Algorithm: "ppo", Iteration: it, EnvSteps: int64(it) * 512},
		map[string][]byte{"weights.msgpack": []byte(strings.Repeat("w", it)), "optimizer.msgpack": []byte("adam")})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteLoad(t *testing.T) {
	s := LocalStore{Root: t.TempDir()}
	write(t, s, 3)
	c, err := Load(context.Background(), s, "checkpoints/iter-000003")
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta.Iteration != 3 || c.Meta.EnvSteps != 1536 || c.Meta.Algorithm != "ppo" || c.Meta.FormatVersion != FormatVersion {
		t.Errorf("Meta = %+v; want iteration 3, 1536 steps, ppo", c.Meta)
	}
	if w, _ := c.File("weights.msgpack"); string(w) != "www" {
		t.Errorf("weights = %q; want www", w)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "checkpoints", "iter-000003", MetadataFile)); err != nil {
		t.Errorf("metadata not at the documented path: %v", err)
	}
}

// TestLatestSetsAsideDamaged damages the newest checkpoints in each way a
// crash or a disk can, and checks that the previous good one is used.
func TestLatestSetsAsideDamaged(t *testing.T) {
	damage := map[string]func(root string){
		"no metadata (crashed mid-write)": func(root string) {
			os.Remove(filepath.Join(root, "checkpoints/iter-000003", MetadataFile))
		},
		"truncated file": func(root string) {
			os.WriteFile(filepath.Join(root, "checkpoints/iter-000003/weights.msgpack"), []byte("w"), 0o644)
		},
		"flipped byte": func(root string) {
			os.WriteFile(filepath.Join(root, "checkpoints/iter-000003/optimizer.msgpack"), []byte("adaM"), 0o644)
		},
		"missing file": func(root string) {
			os.Remove(filepath.Join(root, "checkpoints/iter-000003/weights.msgpack"))
		},
		"garbage metadata": func(root string) {
			os.WriteFile(filepath.Join(root, "checkpoints/iter-000003", MetadataFile), []byte("{"), 0o644)
		},
	}
	for name, breakIt := range damage {
		s := LocalStore{Root: t.TempDir()}
		write(t, s, 1)
		write(t, s, 2)
		write(t, s, 3)
		breakIt(s.Root)
		c, aside, err := Latest(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: Latest = %v", name, err)
		}
		if c.Meta.Iteration != 2 {
			t.Errorf("%s: Latest = iteration %d; want 2", name, c.Meta.Iteration)
		}
		if len(aside) != 1 || !errors.Is(aside[0], ErrDamaged) || !strings.Contains(aside[0].Error(), "iter-000003") {
			t.Errorf("%s: set aside %v; want one ErrDamaged naming iter-000003", name, aside)
		}
		if _, err := os.Stat(filepath.Join(s.Root, "checkpoints/damaged/iter-000003")); err != nil {
			t.Errorf("%s: damaged checkpoint not moved to checkpoints/damaged: %v", name, err)
		}
		// Set aside once: the next Latest finds iteration 2 directly.
		if _, aside, _ := Latest(context.Background(), s); len(aside) != 0 {
			t.Errorf("%s: second Latest set aside %v again", name, aside)
		}
	}
}

func TestLatestNone(t *testing.T) {
	s := LocalStore{Root: t.TempDir()}
	if _, _, err := Latest(context.Background(), s); !errors.Is(err, ErrNone) {
		t.Errorf("Latest on an empty run = %v; want ErrNone", err)
	}
}

// TestLoadNotFound: a key with no file at all (a mistyped or pruned
// iteration) is ErrNotFound, naming the checkpoints the store holds; a
// key with files but no metadata stays ErrDamaged.
func TestLoadNotFound(t *testing.T) {
	ctx := context.Background()
	s := LocalStore{Root: t.TempDir()}
	for _, tc := range []struct {
		key, wantMsg string
		write        []int
		notFound     bool
	}{
		{key: "checkpoints/iter-000002", wantMsg: "it holds no checkpoints", notFound: true},
		{key: "checkpoints/iter-000002", write: []int{3, 5}, wantMsg: "it holds iter-000003, iter-000005", notFound: true},
		{key: "checkpoints/iter-000003", wantMsg: "never finished"}, // its metadata removed below
	} {
		for _, it := range tc.write {
			write(t, s, it)
		}
		if !tc.notFound {
			os.Remove(filepath.Join(s.Root, tc.key, MetadataFile))
		}
		_, err := Load(ctx, s, tc.key)
		if got := errors.Is(err, ErrNotFound); got != tc.notFound || errors.Is(err, fs.ErrNotExist) != tc.notFound || errors.Is(err, ErrDamaged) == tc.notFound {
			t.Errorf("Load(%s) = %v; want ErrNotFound %v", tc.key, err, tc.notFound)
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("Load(%s) = %v; want it to say %q", tc.key, err, tc.wantMsg)
		}
	}
}

func TestPrune(t *testing.T) {
	s := LocalStore{Root: t.TempDir()}
	for it := 1; it <= 5; it++ {
		write(t, s, it)
	}
	os.Remove(filepath.Join(s.Root, "checkpoints/iter-000002", MetadataFile)) // an old partial one
	if err := Prune(context.Background(), s, 2); err != nil {
		t.Fatal(err)
	}
	its, _ := List(context.Background(), s)
	if want := []int{5, 4}; !reflect.DeepEqual(its, want) {
		t.Errorf("after Prune(2): %v; want %v", its, want)
	}
	if _, err := os.Stat(filepath.Join(s.Root, "checkpoints/iter-000001")); !os.IsNotExist(err) {
		t.Errorf("pruned directory still exists: %v", err)
	}
}

func TestLocalStoreIgnoresTempFiles(t *testing.T) {
	s := LocalStore{Root: t.TempDir()}
	os.MkdirAll(filepath.Join(s.Root, "checkpoints/iter-000001"), 0o755)
	os.WriteFile(filepath.Join(s.Root, "checkpoints/iter-000001/.weights.msgpack.tmp-123"), []byte("half"), 0o644)
	keys, err := s.List(context.Background(), "checkpoints")
	if err != nil || len(keys) != 0 {
		t.Errorf("List = %v, %v; want no keys (only a temporary file exists)", keys, err)
	}
}

// TestMetadataBitFlips (issue 13, Broken 5): every single-bit flip
// anywhere in metadata.json is detected — a flipped iteration number
// no longer loads as another checkpoint — and Latest falls back to the
// previous checkpoint.
func TestMetadataBitFlips(t *testing.T) {
	ctx := context.Background()
	s := memStore{}
	write(t, s, 22)
	write(t, s, 32)
	key := "checkpoints/iter-000032/" + MetadataFile
	orig := s[key]
	if _, err := Load(ctx, s, "checkpoints/iter-000032"); err != nil {
		t.Fatalf("intact checkpoint: %v", err)
	}
	flipped := make([]byte, len(orig))
	for i := range orig {
		for bit := range 8 {
			copy(flipped, orig)
			flipped[i] ^= 1 << bit
			s[key] = flipped
			if _, err := Load(ctx, s, "checkpoints/iter-000032"); !errors.Is(err, ErrDamaged) {
				t.Fatalf("byte %d bit %d flipped (%q→%q): Load = %v; want ErrDamaged", i, bit, orig[i], flipped[i], err)
			}
		}
	}
	// "iteration": 32 → 22, the probe's flip: Latest skips it for iter-000022.
	bad := strings.Replace(string(orig), `"iteration": 32`, `"iteration": 22`, 1)
	s[key] = []byte(bad)
	c, aside, err := Latest(ctx, s)
	if err != nil || c.Meta.Iteration != 22 || c.Key != "checkpoints/iter-000022" {
		t.Fatalf("Latest = %+v, %v; want iter-000022", c, err)
	}
	if len(aside) != 1 || !strings.Contains(aside[0].Error(), "checksum") {
		t.Errorf("set aside %v; want one checksum error", aside)
	}
}

// TestLatestSkipsUnusable (issue 13, Broken 5): an intact checkpoint in
// a newer format, or one whose metadata names files that are not there,
// is set aside with its reason and the previous one used, instead of
// stopping the resume.
func TestLatestSkipsUnusable(t *testing.T) {
	ctx := context.Background()
	rewrite := map[string]func(m *Meta){
		"newer format":     func(m *Meta) { m.FormatVersion = FormatVersion + 1 },
		"other files":      func(m *Meta) { m.Files["policy.msgpack"] = FileSum{Size: 3, CRC32C: 1} },
		"path in files":    func(m *Meta) { m.Files["../../etc/passwd"] = FileSum{} },
		"wrong iteration":  func(m *Meta) { m.Iteration = 2 },
		"format version 1": func(m *Meta) { m.FormatVersion = 1 },
	}
	for name, change := range rewrite {
		s := LocalStore{Root: t.TempDir()}
		write(t, s, 2)
		write(t, s, 3)
		c, err := Load(ctx, s, "checkpoints/iter-000003")
		if err != nil {
			t.Fatal(err)
		}
		m := c.Meta
		change(&m)
		b, err := encodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(s.Root, "checkpoints/iter-000003", MetadataFile), b, 0o644)
		c, aside, err := Latest(ctx, s)
		if err != nil || c.Meta.Iteration != 2 {
			t.Errorf("%s: Latest = %v, %v; want iteration 2", name, c, err)
			continue
		}
		if len(aside) != 1 || !strings.Contains(aside[0].Error(), "iter-000003") {
			t.Errorf("%s: set aside %v; want one error naming iter-000003", name, aside)
		}
		if name == "newer format" && !errors.Is(aside[0], ErrUnsupported) {
			t.Errorf("newer format: %v; want ErrUnsupported", aside[0])
		}
	}
}

// TestReadsVersion1Metadata: checkpoints written before the metadata
// checksum (format version 1) still load.
func TestReadsVersion1Metadata(t *testing.T) {
	ctx := context.Background()
	s := LocalStore{Root: t.TempDir()}
	write(t, s, 4)
	c, _ := Load(ctx, s, "checkpoints/iter-000004")
	m := c.Meta
	m.FormatVersion = 1
	b, _ := json.MarshalIndent(m, "", "  ")
	os.WriteFile(filepath.Join(s.Root, "checkpoints/iter-000004", MetadataFile), b, 0o644)
	if c, err := Load(ctx, s, "checkpoints/iter-000004"); err != nil || c.Meta.Iteration != 4 {
		t.Errorf("version 1 checkpoint: %v, %v", c, err)
	}
}

// memStore is a Store in memory, for tests that load thousands of times.
type memStore map[string][]byte

func (m memStore) Put(_ context.Context, key string, data []byte) error {
	m[key] = append([]byte(nil), data...)
	return nil
}

func (m memStore) Get(_ context.Context, key string) ([]byte, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, fs.ErrNotExist)
	}
	return append([]byte(nil), b...), nil
}

func (m memStore) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	for k := range m {
		if strings.HasPrefix(k, strings.TrimSuffix(prefix, "/")+"/") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (m memStore) Delete(_ context.Context, key string) error {
	delete(m, key)
	return nil
}

func (m memStore) String() string { return "mem" }

// vanishing is a store in which checkpoint 9 is listed once and then gone,
// as when the run writing to it prunes it between Latest's List and Load.
type vanishing struct{ LocalStore }

func (v vanishing) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := v.LocalStore.List(ctx, prefix)
	if prefix == Dir {
		keys = append(keys, Dir+"/iter-000009/"+MetadataFile)
	}
	return keys, err
}

// TestLatestPassesOverVanished: a checkpoint pruned after Latest listed it
// is passed over, not an error and not set aside.
func TestLatestPassesOverVanished(t *testing.T) {
	s := vanishing{LocalStore{Root: t.TempDir()}}
	write(t, s, 4)
	c, aside, err := Latest(context.Background(), s)
	if err != nil || c.Meta.Iteration != 4 || len(aside) != 0 {
		t.Errorf("Latest = %v, set aside %v, %v; want iteration 4, nothing set aside", c, aside, err)
	}
}
