//go:build ignore

// Command mutate applies one-line mutations to a scratch copy of the
// repository, one at a time, runs the tests that should catch each, and
// fails if any mutation survives (the tests still pass), does not
// compile, or no longer matches the code. It never changes the checkout
// it is run from. Run it as .ci/mutate; docs/testing.md explains the list
// file and how to add a mutation.
//
//	go run .ci/mutate.go [-list .ci/mutations.txt] [-only REGEXP] [-keep] [-md FILE]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// mutation is one entry of the list file.
type mutation struct {
	name     string
	file     string
	from, to string   // whole lines, compared without leading and trailing space
	pkgs     []string // go test package patterns
	line     int      // line number in the list file, for messages
}

func main() {
	list := flag.String("list", ".ci/mutations.txt", "the list of mutations")
	only := flag.String("only", "", "run only the mutations whose name matches this regexp")
	keep := flag.Bool("keep", false, "keep the scratch copy (its path is printed)")
	md := flag.String("md", "", "also write the results as a Markdown table to this file")
	timeout := flag.Duration("timeout", 10*time.Minute, "limit for one mutation's tests")
	flag.Parse()
	if err := run(*list, *only, *keep, *md, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func run(listPath, only string, keep bool, mdPath string, timeout time.Duration) error {
	muts, err := parseList(listPath)
	if err != nil {
		return err
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		var sel []mutation
		for _, m := range muts {
			if re.MatchString(m.name) {
				sel = append(sel, m)
			}
		}
		muts = sel
	}
	if len(muts) == 0 {
		return errors.New("no mutations selected")
	}
	// Every mutation must match its file here before anything runs, so a
	// list that rotted with the code fails at once.
	for _, m := range muts {
		src, err := os.ReadFile(m.file)
		if err != nil {
			return fmt.Errorf("%s:%d (%s): %w", listPath, m.line, m.name, err)
		}
		if _, err := apply(src, m); err != nil {
			return fmt.Errorf("%s:%d (%s): %w", listPath, m.line, m.name, err)
		}
	}
	scratch, err := os.MkdirTemp("", "rlgo-mutate-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("scratch copy:", scratch)
	} else {
		defer os.RemoveAll(scratch)
	}
	if err := copyTree(scratch); err != nil {
		return fmt.Errorf("copy the working tree: %w", err)
	}
	fmt.Printf("%d mutations, scratch copy %s\n", len(muts), scratch)

	// The unmutated tests must pass, or every mutation would count as
	// killed. This run also fills the build and test caches, so that
	// each mutation rebuilds and reruns only what it changed.
	var all []string
	have := map[string]bool{}
	for _, m := range muts {
		for _, p := range m.pkgs {
			if !have[p] {
				have[p] = true
				all = append(all, p)
			}
		}
	}
	start := time.Now()
	if out, code := goTest(scratch, all, timeout); code != 0 {
		os.Stdout.Write(out)
		return fmt.Errorf("the unmutated tests fail (exit %d): fix them first", code)
	}
	fmt.Printf("baseline: the unmutated tests of %s pass (%s)\n", strings.Join(all, " "), time.Since(start).Round(time.Second))

	type result struct {
		m       mutation
		outcome string // killed, SURVIVED, BROKEN
		by      string
		took    time.Duration
	}
	var results []result
	bad := 0
	for i, m := range muts {
		path := filepath.Join(scratch, m.file)
		orig, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mutated, err := apply(orig, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if err := os.WriteFile(path, mutated, 0o644); err != nil {
			return err
		}
		start := time.Now()
		out, code := goTest(scratch, m.pkgs, timeout)
		took := time.Since(start).Round(time.Second)
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			return err
		}
		r := result{m: m, took: took}
		switch {
		case code == 0:
			r.outcome = "SURVIVED"
			bad++
		case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
			r.outcome, r.by = "BROKEN", "does not compile: fix the list entry"
			bad++
			os.Stdout.Write(out)
		default:
			r.outcome, r.by = "killed", killers(out)
		}
		results = append(results, r)
		fmt.Printf("[%d/%d] %-8s %s (%s:%d) in %s %s\n", i+1, len(muts), r.outcome, m.name, m.file, lineOf(orig, m), took, r.by)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| # | mutation | file | result | first failing tests | time |\n|---|---|---|---|---|---|\n")
	for i, r := range results {
		fmt.Fprintf(&b, "| %d | %s | `%s` | %s | %s | %s |\n", i+1, r.m.name, r.m.file, r.outcome, r.by, r.took)
	}
	fmt.Print("\n" + b.String())
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d mutations survived or did not compile", bad, len(results))
	}
	fmt.Printf("all %d mutations killed\n", len(results))
	return nil
}

// parseList reads the list file: records separated by blank lines, each
//
//	name: what the mutation breaks
//	file: path/from/repo/root.go
//	from: the original line (leading and trailing space ignored)
//	to:   the replacement line
//	test: ./package/one ./package/two
//
// and # comments.
func parseList(path string) ([]mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var muts []mutation
	var cur mutation
	var seen map[string]bool
	flush := func(line int) error {
		if seen == nil {
			return nil
		}
		for _, k := range []string{"name", "file", "from", "to", "test"} {
			if !seen[k] {
				return fmt.Errorf("%s:%d: mutation %q lacks %s:", path, cur.line, cur.name, k)
			}
		}
		if strings.TrimSpace(cur.from) == strings.TrimSpace(cur.to) {
			return fmt.Errorf("%s:%d: mutation %q changes nothing", path, cur.line, cur.name)
		}
		muts = append(muts, cur)
		cur, seen = mutation{}, nil
		return nil
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if t == "" {
			if err := flush(n); err != nil {
				return nil, err
			}
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want key: value, got %q", path, n, line)
		}
		if seen == nil {
			seen = map[string]bool{}
			cur.line = n
		}
		val = strings.TrimSpace(val)
		switch key {
		case "name":
			cur.name = val
		case "file":
			cur.file = val
		case "from":
			cur.from = val
		case "to":
			cur.to = val
		case "test":
			cur.pkgs = strings.Fields(val)
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, n, key)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s:%d: %s: given twice", path, n, key)
		}
		seen[key] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(n); err != nil {
		return nil, err
	}
	return muts, nil
}

// apply returns src with the one line equal to m.from (ignoring leading
// and trailing space) replaced by m.to, indented as the original.
func apply(src []byte, m mutation) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	at := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == m.from {
			if at >= 0 {
				return nil, fmt.Errorf("%s: the line %q occurs more than once (lines %d and %d): quote a unique one", m.file, m.from, at+1, i+1)
			}
			at = i
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("%s: no line %q: the code changed, update the list", m.file, m.from)
	}
	l := lines[at]
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	lines[at] = indent + m.to + "\n"
	return []byte(strings.Join(lines, "")), nil
}

func lineOf(src []byte, m mutation) int {
	for i, l := range strings.Split(string(src), "\n") {
		if strings.TrimSpace(l) == m.from {
			return i + 1
		}
	}
	return 0
}

// goTest runs the packages' default tests (no -short, no RLGO_LONG) in
// dir, stopping each package at its first failure.
func goTest(dir string, pkgs []string, timeout time.Duration) ([]byte, int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-failfast", "-timeout", timeout.String()}, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RLGO_LONG=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &ee):
		return out, ee.ExitCode()
	default:
		return append(out, []byte("\n"+err.Error())...), -1
	}
}

// killers returns the names of the failing tests in go test's output.
func killers(out []byte) string {
	re := regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	var names []string
	for _, m := range re.FindAllSubmatch(out, -1) {
		name := string(m[1])
		if strings.Contains(name, "/") && len(names) > 0 && strings.HasPrefix(name, names[len(names)-1]+"/") {
			continue // a subtest of the test already named
		}
		names = append(names, name)
		if len(names) == 3 {
			break
		}
	}
	if len(names) == 0 {
		return "(no --- FAIL line: a panic or timeout)"
	}
	return strings.Join(names, ", ")
}

// copyTree copies the working tree's files that git tracks or would
// track (the checkout as it is, uncommitted edits included, build
// outputs and ignored files left out) into dst.
func copyTree(dst string) error {
	out, err := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, name := range strings.Split(string(out), "\x00") {
		if name == "" {
			continue
		}
		fi, err := os.Lstat(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		target := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := copyFile(name, target, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
