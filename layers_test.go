package rlgo_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// layers are rlgo's packages from the ground floor up (design.md,
// "Layers"): a package may import packages of lower layers, and of its
// own layer only within its own top-level folder or along an edge of
// sameLayer. Tests may import more (an algorithm's test may load a
// shipped config); the build graph may not.
var layers = []struct {
	name     string
	prefixes []string
}{
	{"kernels and wire", []string{"internal/kernels", "internal/wire"}},
	{"envs", []string{"envs"}},
	{"models", []string{"policy", "learner"}},
	{"rollout", []string{"rollout"}},
	{"algorithms", []string{"algorithms"}},
	{"run loop", []string{"train"}},
	{"commands", []string{"cmd", "examples"}},
}

// sameLayer are the imports allowed between top-level folders of one
// layer: the learner builds the policy's networks as graphs; an example
// may be its own rltrain (cmd/rltrain/cli.Main).
var sameLayer = map[[2]string]bool{{"learner", "policy"}: true, {"examples", "cmd"}: true}

const module = "github.com/rlgo/rlgo"

// rel returns p's path in the module and its top-level folder.
func rel(p string) (path, top string, ok bool) {
	if p != module && !strings.HasPrefix(p, module+"/") {
		return "", "", false
	}
	path = strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
	top, _, _ = strings.Cut(path, "/")
	return path, top, true
}

func layerOf(path string) int {
	for i, l := range layers {
		for _, p := range l.prefixes {
			if path == p || strings.HasPrefix(path, p+"/") {
				return i
			}
		}
	}
	return -1
}

// TestLayering checks every import of every package of the module (go
// list -json ./...) against the layers, and that the top-level folders
// import each other in no cycle.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	folders := map[string]map[string]bool{}
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from, fromTop, _ := rel(p.ImportPath)
		if from == "" {
			continue // this test's own package
		}
		n++
		lf := layerOf(from)
		if lf < 0 {
			t.Errorf("package %s is in no layer: add its folder to layers", from)
			continue
		}
		for _, imp := range p.Imports {
			to, toTop, ok := rel(imp)
			if !ok {
				continue
			}
			lt := layerOf(to)
			if fromTop != toTop {
				if folders[fromTop] == nil {
					folders[fromTop] = map[string]bool{}
				}
				folders[fromTop][toTop] = true
			}
			switch {
			case lt < 0:
				t.Errorf("%s imports %s, which is in no layer", from, to)
			case lt > lf:
				t.Errorf("%s (%s) imports %s (%s): an import up the layers", from, layers[lf].name, to, layers[lt].name)
			case lt == lf && fromTop != toTop && !sameLayer[[2]string{fromTop, toTop}]:
				t.Errorf("%s imports %s: same layer (%s), different folders, not in sameLayer", from, to, layers[lf].name)
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages; want the whole module", n)
	}
	// No cycle among top-level folders (depth-first search).
	state := map[string]int{}
	var visit func(f string, path []string)
	visit = func(f string, path []string) {
		switch state[f] {
		case 1:
			t.Errorf("top-level folders import each other in a cycle: %s", strings.Join(append(path, f), " → "))
			return
		case 2:
			return
		}
		state[f] = 1
		for g := range folders[f] {
			visit(g, append(path, f))
		}
		state[f] = 2
	}
	for f := range folders {
		visit(f, nil)
	}
}
