package train

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeSkipsFlippedMetadata (issue 13, Broken 5): a one-bit flip in
// the newest checkpoint's metadata ("iteration": 3 → 2) is caught; the
// resume falls back to the previous checkpoint with one log line saying
// why, and progress.csv goes on from there without a gap.
func TestResumeSkipsFlippedMetadata(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunConfig(context.Background(), tinyConfig(t, 3), Options{Out: dir}); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(dir, "checkpoints", "iter-000003", "metadata.json")
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Replace(b, []byte(`"iteration": 3,`), []byte(`"iteration": 2,`), 1) // '3' ^ 1 = '2'
	if bytes.Equal(flipped, b) {
		t.Fatal("no iteration in metadata.json")
	}
	os.WriteFile(meta, flipped, 0o644)
	var log bytes.Buffer
	out, err := RunConfig(context.Background(), tinyConfig(t, 4), Options{Out: dir, Resume: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var aside []string
	for _, l := range lines {
		if strings.Contains(l, "set aside") {
			aside = append(aside, l)
		}
	}
	if len(aside) != 1 || !strings.Contains(aside[0], "iter-000003") || !strings.Contains(aside[0], "checksum") {
		t.Errorf("log:\n%s\nwant one line setting iter-000003 aside for its checksum", log.String())
	}
	if !strings.Contains(log.String(), "continuing from "+filepath.Join(dir, "checkpoints", "iter-000002")) {
		t.Errorf("log:\n%s\nwant the resume to continue from iter-000002", log.String())
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "progress.csv"))
	var its []string
	for _, row := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
		its = append(its, strings.Split(row, ",")[0])
	}
	if got := strings.Join(its, " "); got != "1 2 3 4" || out.Last.Iteration != 4 {
		t.Errorf("progress.csv iterations %q, last %d; want 1 2 3 4", got, out.Last.Iteration)
	}
}
