package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/train"
)

// TestReportWarnsAndGoesOn (issue 13, reports): a progress.csv with torn
// and interleaved rows is reported without them, with a warning naming
// the run, the file and the lines; a run that cannot be read at all is
// left out with a warning, and the other runs are still reported.
func TestReportWarnsAndGoesOn(t *testing.T) {
	root := t.TempDir()
	good, torn, broken := filepath.Join(root, "good"), filepath.Join(root, "torn"), filepath.Join(root, "broken")
	synthRun(t, good, 1, 1e-3, 2, 60000)
	synthRun(t, torn, 2, 1e-3, 2, 60000)
	synthRun(t, broken, 3, 1e-3, 2, 60000)
	p := filepath.Join(torn, "progress.csv")
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := len(lines) - 1 - 3
	lines[3] = lines[3][:len(lines[3])/2]              // torn mid-row
	lines[5] = lines[5] + ",7"                         // a cell too many
	lines[7] = strings.Replace(lines[7], ",", ",x", 1) // not a number
	os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "config.yaml"), []byte("{{{"), 0o644)

	res, err := Generate([]string{good, torn, broken}, Options{Out: filepath.Join(root, "report")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Drawn || len(res.Groups) != 1 || len(res.Groups[0].Runs) != 2 {
		t.Fatalf("drawn %v, groups %v; want the good and the torn run in one group", res.Drawn, res.Groups)
	}
	for _, r := range res.Groups[0].Runs {
		if r.Dir == torn && len(r.Rows) != want {
			t.Errorf("torn run: %d rows; want %d", len(r.Rows), want)
		}
	}
	all := strings.Join(res.Warnings, "\n")
	for _, w := range []string{torn + "/progress.csv: skipped 3 row(s)", "line 4:", "line 6:", "line 8:", broken + "/config.yaml", "left out"} {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	md, _ := os.ReadFile(filepath.Join(root, "report", MarkdownFile))
	if !strings.Contains(string(md), "skipped 3 row(s)") {
		t.Error("summary.md does not carry the warnings")
	}

	// Nothing readable: an error.
	if _, err := Generate([]string{broken}, Options{Out: filepath.Join(root, "r2")}); err == nil {
		t.Error("Generate of only an unreadable run: no error")
	}
	// Only torn rows: a report saying so, not Drawn.
	os.WriteFile(p, []byte(lines[0]+"\n1,2\n"), 0o644)
	res, err = Generate([]string{torn}, Options{Out: filepath.Join(root, "r3")})
	if err != nil || res.Drawn {
		t.Errorf("fully torn run: %v, drawn %v; want a report with nothing drawn", err, res != nil && res.Drawn)
	}
}

// TestRepeatedSeedCountsOnce (issue 13, reports): two runs of one seed
// are one seed in the band (their mean), with a warning, and the summary
// says the seed ran twice instead of "1, 1, 2".
func TestRepeatedSeedCountsOnce(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for i, seed := range []uint64{1, 1, 2} {
		d := filepath.Join(root, fmt.Sprintf("run%d", i))
		synthRun(t, d, seed, 1e-3, 1+0.3*float64(i), 100000)
		dirs = append(dirs, d)
	}
	res, err := Generate(dirs, Options{Out: filepath.Join(root, "report")})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Groups[0]
	if len(g.Runs) != 3 || len(g.Seeds()) != 2 || len(g.Repeated) != 1 {
		t.Fatalf("group: %d runs, seeds %v, repeated %v", len(g.Runs), g.Seeds(), g.Repeated)
	}
	b, ok := GroupBand(g, "env_steps", "episode_return_mean")
	if !ok || b.N != 2 {
		t.Fatalf("band over %d seeds; want 2", b.N)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "seed 1 was run 2 times") {
		t.Errorf("warnings %q; want the repeated seed named", w)
	}
	md, _ := os.ReadFile(filepath.Join(root, "report", MarkdownFile))
	if !strings.Contains(string(md), "| 1 (×2), 2 |") || !strings.Contains(string(md), "over 2 seeds") {
		t.Errorf("summary.md:\n%s\nwant seeds '1 (×2), 2' and a band over 2 seeds", md)
	}
}

// TestBandCarriesFinishedSeedsForward (issue 13, reports): y = x + c for
// c in {0, 2, 4}, seeds ending at x = 10, 8 and 6. Finished seeds keep
// their last value, so the band runs to 10: at x = 10 the values are 10,
// 9+... (8+2 carried) and 6+4 carried: 10, 10, 10. A seed that has not
// finished still ends the band where its data ends.
func TestBandCarriesFinishedSeedsForward(t *testing.T) {
	mk := func(status string) *Group {
		g := &Group{}
		for k, end := range []int{10, 8, 6} {
			r := &Run{Seed: fmt.Sprint(k), Columns: []string{"env_steps", "episode_return_mean"}, col: map[string]int{"env_steps": 0, "episode_return_mean": 1},
				Result: &train.ResultFile{Status: status}}
			for x := 1; x <= end; x++ {
				r.Rows = append(r.Rows, []float64{float64(x), float64(x + 2*k)})
			}
			g.Runs = append(g.Runs, r)
		}
		return g
	}
	b, ok := GroupBand(mk("finished"), "env_steps", "episode_return_mean")
	if !ok || b.X[len(b.X)-1] != 10 || b.Carried != 2 {
		t.Fatalf("finished seeds: band to %v, carried %d; want to 10 with 2 carried", b.X[len(b.X)-1], b.Carried)
	}
	last := len(b.X) - 1
	if math.Abs(b.Mean[last]-10) > 1e-9 || math.Abs(b.Std[last]) > 1e-9 {
		t.Errorf("at x=10: %v ± %v; want 10 ± 0 (10, 8+2, 6+4)", b.Mean[last], b.Std[last])
	}
	b, _ = GroupBand(mk("interrupted"), "env_steps", "episode_return_mean")
	if b.X[len(b.X)-1] != 6 || b.Carried != 0 {
		t.Errorf("interrupted seeds: band to %v, carried %d; want to 6, none carried", b.X[len(b.X)-1], b.Carried)
	}
}

// TestLearnerFigureHasLegend (issue 13, reports): learner.png names the
// groups its colours stand for.
func TestLearnerFigureHasLegend(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for i, lr := range []float64{1e-3, 3e-4} {
		d := filepath.Join(root, fmt.Sprintf("run%d", i))
		synthRun(t, d, 1, lr, 2, 60000)
		dirs = append(dirs, d)
	}
	res, err := Generate(dirs, Options{Out: filepath.Join(root, "report")})
	if err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(filepath.Join(root, "report", "learner.svg"))
	for _, g := range res.Groups {
		if !strings.Contains(string(svg), g.Label) {
			t.Errorf("learner.svg does not name group %q", g.Label)
		}
	}
}
