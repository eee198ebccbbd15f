package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
