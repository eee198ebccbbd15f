package cli

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportThreeSeeds is issue 6's acceptance check: three seeds of
// configs/cartpole-ppo.yaml trained to the target, then `rltrain report`
// on them: the PNGs decode at the right size, the summary groups the seeds
// into one config that reached the threshold, and report.html renders in
// headless Chromium with all images loaded.
func TestReportThreeSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three seeds")
	}
	ctx := context.Background()
	root := t.TempDir()
	var dirs []string
	for _, seed := range []string{"1", "2", "3"} {
		dir := filepath.Join(root, "cartpole-ppo-"+seed)
		if code, _, stderr := run(t, ctx, "train", shipped, "--as-test", "--set", "seed="+seed, "--out", dir); code != 0 {
			t.Fatalf("seed %s: train --as-test = %d: %s", seed, code, stderr)
		}
		dirs = append(dirs, dir)
	}
	out := filepath.Join(root, "report")
	if code, _, stderr := run(t, ctx, append(append([]string{"report"}, dirs...), "--out", out)...); code != 0 {
		t.Fatalf("report = %d: %s", code, stderr)
	}
	for _, name := range []string{"return_steps.png", "return_time.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 960 || b.Dy() != 600 {
			t.Errorf("%s is %dx%d; want 960x600", name, b.Dx(), b.Dy())
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "cartpole-ppo") || !strings.Contains(string(md), "| 1, 2, 3 | 475 (CartPole-v1 reward threshold)") || !strings.Contains(string(md), "3 of 3") {
		t.Errorf("summary.md does not show one group of 3 seeds all reaching the threshold:\n%s", md)
	}
	checkReportInChromium(t, out)
}
