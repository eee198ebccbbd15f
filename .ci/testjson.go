//go:build ignore

// Command testjson reads `go test -json` on stdin, prints what plain
// `go test` would (each package's ok/FAIL line, and the output of failed
// tests) plus every skipped test with its reason, and fails if a test
// failed, a package did not build, a test skipped without an entry in
// the allow-list, or a package named with -require ran no test.
//
//	go test -json ./... | go run .ci/testjson.go -allow .ci/skips.txt
//
// The allow-list has one entry a line, "PACKAGE TEST REASON…": PACKAGE
// and TEST are path.Match patterns (PACKAGE relative to the module, "*"
// for any; TEST also matches a subtest's full name), REASON says why the
// skip is expected on CI. Lines starting with # are comments.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type allow struct {
	pkg, test, reason string
	used              int
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const module = "github.com/rlgo/rlgo/"

func main() {
	allowPath := flag.String("allow", "", "the skip allow-list")
	var require stringList
	flag.Var(&require, "require", "a package (relative to the module) that must run at least one test; repeatable")
	flag.Parse()
	allows, err := readAllow(*allowPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testjson:", err)
		os.Exit(2)
	}
	if len(allows) > 0 {
		fmt.Println("-- skip allow-list (" + *allowPath + "): these tests may skip, and no other")
		for _, a := range allows {
			fmt.Printf("   %s %s: %s\n", a.pkg, a.test, a.reason)
		}
	}
	ok := check(os.Stdin, os.Stdout, allows, require)
	if !ok {
		os.Exit(1)
	}
}

func readAllow(p string) ([]*allow, error) {
	if p == "" {
		return nil, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []*allow
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want PACKAGE TEST REASON, got %q", p, i+1, line)
		}
		a := &allow{pkg: f[0], test: f[1], reason: strings.Join(f[2:], " ")}
		if _, err := path.Match(a.pkg, ""); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", p, i+1, err)
		}
		if _, err := path.Match(a.test, ""); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", p, i+1, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (a *allow) matches(pkg, test string) bool {
	rel := strings.TrimPrefix(pkg, module)
	p, _ := path.Match(a.pkg, rel)
	if !p && a.pkg != "*" {
		return false
	}
	t, _ := path.Match(a.test, test)
	if !t {
		// A pattern without '/' also matches the subtests of the tests it names.
		top, _, _ := strings.Cut(test, "/")
		if !strings.Contains(a.test, "/") {
			t, _ = path.Match(a.test, top)
		}
	}
	return t
}

func check(r io.Reader, w io.Writer, allows []*allow, require []string) bool {
	type key struct{ pkg, test string }
	output := map[key][]string{} // buffered output of running tests
	ran := map[string]int{}      // tests run per package
	var failedTests, failedPkgs, badSkips, okSkips []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not test2json (e.g. a build error printed by go itself).
			fmt.Fprintln(w, string(line))
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "output":
			if e.Test == "" {
				// Package-level output: ok/FAIL lines, build errors, TestMain's.
				if !strings.HasPrefix(e.Output, "=== ") && e.Output != "PASS\n" && e.Output != "FAIL\n" {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			output[k] = append(output[k], e.Output)
		case "run":
			ran[e.Package]++
		case "pass":
			delete(output, k)
		case "fail":
			if e.Test == "" {
				failedPkgs = append(failedPkgs, e.Package)
				continue
			}
			for _, o := range output[k] {
				fmt.Fprint(w, o)
			}
			delete(output, k)
			failedTests = append(failedTests, e.Package+" "+e.Test)
		case "skip":
			if e.Test == "" {
				continue // a package without test files
			}
			reason := skipReason(output[k])
			delete(output, k)
			name := strings.TrimPrefix(e.Package, module) + " " + e.Test
			var hit *allow
			for _, a := range allows {
				if a.matches(e.Package, e.Test) {
					hit = a
					break
				}
			}
			if hit == nil {
				badSkips = append(badSkips, name+": "+reason)
				continue
			}
			hit.used++
			okSkips = append(okSkips, name+": "+reason)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(w, "testjson: reading go test -json:", err)
		return false
	}
	ok := true
	sort.Strings(okSkips)
	fmt.Fprintf(w, "-- %d skipped tests on the allow-list\n", len(okSkips))
	for _, s := range okSkips {
		fmt.Fprintln(w, "   SKIP (allowed) "+s)
	}
	if len(badSkips) > 0 {
		ok = false
		sort.Strings(badSkips)
		fmt.Fprintf(w, "-- %d skipped tests NOT on the allow-list: make them run here, or add them to the allow-list with the reason\n", len(badSkips))
		for _, s := range badSkips {
			fmt.Fprintln(w, "   SKIP (not allowed) "+s)
		}
	}
	for _, p := range require {
		if ran[module+p] == 0 {
			ok = false
			fmt.Fprintf(w, "-- package %s ran no test (no test files, a build tag or cgo off?): it must\n", p)
		}
	}
	if len(failedTests) > 0 || len(failedPkgs) > 0 {
		ok = false
		fmt.Fprintf(w, "-- %d failed tests in %d failed packages\n", len(failedTests), len(failedPkgs))
		for _, t := range failedTests {
			fmt.Fprintln(w, "   FAIL "+t)
		}
	}
	return ok
}

// skipReason returns the message of a skipped test (the lines after its
// "--- SKIP" line, or what it logged).
func skipReason(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " / ")
}
