package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
)

// synthRun writes a run directory in the runner's format (config.yaml
// from config.Config.YAML, progress.csv with train.Columns' header,
// result.json as train.ResultFile): a return rising like a logistic
// towards 500 at speed, with a seed-dependent wobble, until it reaches
// 475 or steps runs out. Returns are absent before the first episode
// (the first row), as the runner writes them.
func synthRun(t *testing.T, dir string, seed uint64, lr, speed float64, steps int64) {
	t.Helper()
	cfg := config.Default()
	cfg.Name, cfg.Seed, cfg.Env.ID = "cartpole-ppo", seed, "CartPole-v1"
	cfg.Section.(*ppo.Config).LR = lr
	target := 475.0
	cfg.Stop.EpisodeReturnMean, cfg.Stop.EnvSteps = &target, steps
	y, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}
	cols := train.Columns(ppo.LearnerMetrics)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.Name()
	}
	w.Write(head)
	rf := train.ResultFile{Name: cfg.Name, Algorithm: "ppo", Env: "CartPole-v1", Seed: seed, Status: "finished", StopReason: "env_steps", Target: &target}
	var r algorithms.Result
	for it := 1; ; it++ {
		x := int64(it) * 2048
		ret := 10 + 490/(1+math.Exp(-speed*(float64(x)-60000)/20000)) + 15*math.Sin(float64(seed)*1.7+float64(x)/9000)
		ret = math.Min(ret, 500)
		r = algorithms.Result{Iteration: it, EnvSteps: x, Episodes: int64(it * 10), HasEpisodes: it > 1,
			EpisodeReturnMean: ret, EpisodeReturnMin: ret / 2, EpisodeReturnMax: 500, EpisodeLenMean: ret,
			TimeS: float64(x) / (9000 + 1000*float64(seed)), EnvStepsPerS: 9000 + 1000*float64(seed), SampleTimeS: 0.1, LearnTimeS: 0.05,
			FleetWorkers: 2}
		for i, name := range ppo.LearnerMetrics {
			r.Learner = append(r.Learner, algorithms.Metric{Name: name, Value: float64(i) + math.Exp(-float64(x)/50000)})
		}
		row := make([]string, len(cols))
		for i, c := range cols {
			if v, ok := c.Value(r); ok {
				row[i] = fmt.Sprint(v)
			}
		}
		w.Write(row)
		if r.HasEpisodes && ret >= target {
			rf.StopReason, rf.Success = "episode_return_mean", true
			rf.EnvStepsToTarget, rf.TimeSToTarget = &r.EnvSteps, &r.TimeS
			break
		}
		if x >= steps {
			break
		}
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, "progress.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rf.Iterations, rf.EnvSteps, rf.TimeS = r.Iteration, r.EnvSteps, r.TimeS
	js, _ := json.Marshal(rf)
	if err := os.WriteFile(filepath.Join(dir, "result.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkPNG decodes a PNG file and checks its size.
func checkPNG(t *testing.T, data []byte, name string, w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: png.Decode: %v", name, err)
		return
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %dx%d pixels; want %dx%d", name, b.Dx(), b.Dy(), w, h)
	}
}

// checkSVG parses an SVG file as XML to its end and checks the root.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("%s: XML: %v", path, err)
			return
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q; want svg", path, root)
	}
}

var attrRE = regexp.MustCompile(`(?i)\b(src|href|srcset|action|data)\s*=\s*"([^"]*)"`)
var imgRE = regexp.MustCompile(`<img [^>]*src="data:image/png;base64,([^"]+)"`)

// TestReportTwoConfigsSeveralSeeds is the scenario on synthetic
// runs: three seeds of one config and two of another (ppo.lr differs)
// give two groups on shared axes, every file, images of the documented
// size, a self-contained page and the summary tables.
func TestReportTwoConfigsSeveralSeeds(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for _, s := range []struct {
		seed  uint64
		lr    float64
		speed float64
		steps int64
	}{{1, 2.5e-4, 1, 300000}, {2, 2.5e-4, 1.2, 300000}, {3, 2.5e-4, 0.8, 300000}, {1, 1e-3, 2, 200000}, {2, 1e-3, 1.7, 200000}} {
		d := filepath.Join(root, fmt.Sprintf("cartpole-ppo-lr%g-s%d", s.lr, s.seed))
		synthRun(t, d, s.seed, s.lr, s.speed, s.steps)
		dirs = append(dirs, d)
	}
	out := filepath.Join(root, "report")
	res, err := Generate(dirs, Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) != 2 || len(res.Groups[0].Runs) != 3 || len(res.Groups[1].Runs) != 2 {
		t.Fatalf("groups = %d (%v); want 2 groups of 3 and 2 runs", len(res.Groups), res.Groups)
	}
	for _, g := range res.Groups {
		if !strings.Contains(g.Label, "ppo.lr=") || !g.HasThreshold || g.Threshold != 475 {
			t.Errorf("group %q: threshold %v %v; want a label naming ppo.lr and CartPole-v1's threshold 475", g.Label, g.HasThreshold, g.Threshold)
		}
	}

	sizes := map[string][2]int{
		"return_steps": {ReturnWidthPx, ReturnHeightPx},
		"return_time":  {ReturnWidthPx, ReturnHeightPx},
		// 8 learner/* metrics vary (learner/epochs is constant in real runs,
		// not here), plus env_steps_per_s and episode_len_mean: 11 panels.
		"learner": {PanelColumns * PanelWidthPx, 4 * PanelHeightPx},
	}
	for name, wh := range sizes {
		data, err := os.ReadFile(filepath.Join(out, name+".png"))
		if err != nil {
			t.Error(err)
			continue
		}
		checkPNG(t, data, name+".png", wh[0], wh[1])
		checkSVG(t, filepath.Join(out, name+".svg"))
	}

	page, err := os.ReadFile(filepath.Join(out, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range attrRE.FindAllStringSubmatch(string(page), -1) {
		if !strings.HasPrefix(m[2], "data:") {
			t.Errorf("report.html refers to %s=%q; want only data: URIs", m[1], m[2])
		}
	}
	if strings.Contains(string(page), "<script") || strings.Contains(string(page), "<link") {
		t.Error("report.html has a script or link element; want a page with nothing to fetch")
	}
	imgs := imgRE.FindAllStringSubmatch(string(page), -1)
	if len(imgs) != len(sizes) {
		t.Fatalf("report.html embeds %d PNG images; want %d", len(imgs), len(sizes))
	}
	for i, m := range imgs {
		data, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Errorf("image %d: base64: %v", i, err)
			continue
		}
		want, _ := os.ReadFile(res.Files[2*i]) // the figure's .png
		if !bytes.Equal(data, want) {
			t.Errorf("image %d is not %s", i, res.Files[2*i])
		}
	}

	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"![", "(return_steps.png)", "(return_time.png)", "(learner.png)",
		"| group | seeds | threshold | final return | best return | reached threshold | env steps to threshold | time to threshold (s) |",
		"| run | group | seed | status |",
		"| key | cartpole-ppo (stop.env_steps=300000, ppo.lr=0.00025) | cartpole-ppo (stop.env_steps=200000, ppo.lr=0.001) |",
		"| **ppo.lr** | **0.00025** | **0.001** |",
		"| env.id | CartPole-v1 | CartPole-v1 |",
		"| 1, 2, 3 |", "3 of 3", "2 of 2",
		"last value is carried forward",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	if bytes.Contains(md, []byte("| dqn.")) {
		t.Error("summary.md's config table lists dqn.* keys of PPO runs")
	}
	if t.Failed() {
		t.Logf("summary.md:\n%s", md)
	}
}

// TestBandOnlyWhereAllSeedsHaveData checks the band on lines whose mean
// and sample std are known: y = x + c for c in {0, 2, 4} gives mean x+2,
// std 2; the seeds end at x = 10, 8 and 6 and none has finished (no
// result.json), so the band ends at 6.
func TestBandOnlyWhereAllSeedsHaveData(t *testing.T) {
	g := &Group{}
	for k, end := range []int{10, 8, 6} {
		r := &Run{Seed: fmt.Sprint(k), Columns: []string{"env_steps", "episode_return_mean"}, col: map[string]int{"env_steps": 0, "episode_return_mean": 1}}
		for x := 1; x <= end; x++ {
			r.Rows = append(r.Rows, []float64{float64(x), float64(x + 2*k)})
		}
		r.Rows[0][1] = math.NaN() // absent before the first episode
		g.Runs = append(g.Runs, r)
	}
	b, ok := GroupBand(g, "env_steps", "episode_return_mean")
	if !ok {
		t.Fatal("GroupBand: no band")
	}
	if b.N != 3 || len(b.X) != bandPoints || b.X[0] != 2 || b.X[len(b.X)-1] != 6 {
		t.Fatalf("band N=%d over [%v, %v] with %d points; want 3 seeds over [2, 6] with %d", b.N, b.X[0], b.X[len(b.X)-1], len(b.X), bandPoints)
	}
	for i, x := range b.X {
		if math.Abs(b.Mean[i]-(x+2)) > 1e-9 || math.Abs(b.Std[i]-2) > 1e-9 {
			t.Fatalf("band at x=%v: %v ± %v; want %v ± 2", x, b.Mean[i], b.Std[i], x+2)
		}
	}
}

func TestInterp(t *testing.T) {
	xs, ys := []float64{0, 10, 10, 20}, []float64{0, 100, 50, 150}
	for _, tc := range []struct{ x, want float64 }{{0, 0}, {5, 50}, {10, 100}, {15, 100}, {20, 150}} {
		if got := interp(xs, ys, tc.x); got != tc.want {
			t.Errorf("interp(%v) = %v; want %v", tc.x, got, tc.want)
		}
	}
}

func TestStatsTimeToThreshold(t *testing.T) {
	r := &Run{col: map[string]int{"env_steps": 0, "time_s": 1, "episode_return_mean": 2}}
	nan := math.NaN()
	r.Rows = [][]float64{{100, 1, nan}, {200, 2, 300}, {300, 3, 480}, {400, 4, 470}, {500, 5, 490}}
	s := Stats(r, 475, true)
	if s.Final != 490 || s.Best != 490 || s.StepsToThreshold != 300 || s.TimeToThreshold != 3 || s.EnvSteps != 500 || s.Iterations != 5 {
		t.Errorf("Stats = %+v; want final 490, best 490, threshold at 300 steps / 3 s, 500 steps, 5 iterations", s)
	}
	if s := Stats(r, 1000, true); !math.IsNaN(s.StepsToThreshold) {
		t.Errorf("Stats(threshold 1000).StepsToThreshold = %v; want NaN", s.StepsToThreshold)
	}
}

func TestReadProgress(t *testing.T) {
	in := "iteration,env_steps,episode_return_mean\n1,512,\n2,1024,21.5\n3,15"
	cols, rows, skipped, err := readProgress(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 3 || len(rows) != 2 || len(skipped) != 1 || skipped[0] != "line 4: 2 cells, want 3" {
		t.Fatalf("readProgress = %v, %d rows, skipped %q; want 3 columns and 2 rows (the half-written third skipped, named)", cols, len(rows), skipped)
	}
	if !math.IsNaN(rows[0][2]) || rows[1][2] != 21.5 {
		t.Errorf("episode_return_mean = %v, %v; want NaN (absent), 21.5", rows[0][2], rows[1][2])
	}
	for _, bad := range []string{"", "a,a\n1,2\n"} {
		if _, _, _, err := readProgress(strings.NewReader(bad)); err == nil {
			t.Errorf("readProgress(%q): no error", bad)
		}
	}
	// A cell that is not a number skips its row, not the file.
	_, rows, skipped, err = readProgress(strings.NewReader("a,b\n1,x\n2,3\n"))
	if err != nil || len(rows) != 1 || len(skipped) != 1 || !strings.Contains(skipped[0], `line 2: column b: "x" is not a number`) {
		t.Errorf("non-number cell: %d rows, skipped %q, %v", len(rows), skipped, err)
	}
}

// FuzzReadProgress: any bytes as progress.csv are read or refused; what
// is read has one value per column, allocated at most a bounded multiple
// of the input's size, and survives a round trip (written back as CSV,
// it reads back the same).
func FuzzReadProgress(f *testing.F) {
	f.Add([]byte("iteration,env_steps,episode_return_mean\n1,512,\n2,1024,21.5\n"))
	f.Add([]byte("a,b\n\"1\n,2"))
	f.Add([]byte("a\n\n1e308\n-Inf\nNaN\n0x1p-3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cols []string
		var rows [][]float64
		var err error
		n := allocatedBytes(func() { cols, rows, _, err = readProgress(bytes.NewReader(data)) })
		// csv.Reader's buffers, then at most a float64 (8 bytes) and a
		// string header per byte of input.
		if limit := 64<<10 + 64*uint64(len(data)); n > limit {
			t.Fatalf("readProgress of %d bytes allocated %d bytes; want at most %d", len(data), n, limit)
		}
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(cols) {
				t.Fatalf("row of %d values for %d columns", len(r), len(cols))
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(cols)
		for _, r := range rows {
			rec := make([]string, len(r))
			for i, v := range r {
				// "NaN", not an empty cell: a one-column row of an empty
				// cell is an empty line, which CSV readers skip.
				rec[i] = strconv.FormatFloat(v, 'g', -1, 64)
			}
			w.Write(rec)
		}
		w.Flush()
		cols2, rows2, _, err := readProgress(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("reading back %q (written from %q): %v", buf.Bytes(), data, err)
		}
		if !slices.Equal(cols, cols2) || len(rows) != len(rows2) {
			t.Fatalf("round trip: %q, %d rows; read back %q, %d rows (from %q)", cols, len(rows), cols2, len(rows2), buf.Bytes())
		}
		for i := range rows {
			for j := range rows[i] {
				if math.Float64bits(rows[i][j]) != math.Float64bits(rows2[i][j]) && !(math.IsNaN(rows[i][j]) && math.IsNaN(rows2[i][j])) {
					t.Fatalf("round trip: row %d column %d = %v; read back %v", i, j, rows[i][j], rows2[i][j])
				}
			}
		}
	})
}

// allocatedBytes returns the bytes the heap allocated while f ran.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestExpand(t *testing.T) {
	root := t.TempDir()
	synthRun(t, filepath.Join(root, "runs", "b"), 2, 1e-3, 2, 10000)
	synthRun(t, filepath.Join(root, "runs", "a"), 1, 1e-3, 2, 10000)
	os.MkdirAll(filepath.Join(root, "runs", "not-a-run"), 0o755)
	got, err := Expand([]string{filepath.Join(root, "runs"), filepath.Join(root, "runs", "a")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, "runs", "a"), filepath.Join(root, "runs", "b")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Expand = %v; want %v", got, want)
	}
	if _, err := Expand([]string{filepath.Join(root, "runs", "not-a-run")}); !errors.Is(err, ErrNotRunDir) {
		t.Errorf("Expand(empty dir) error = %v; want ErrNotRunDir", err)
	}
}

// cancelAfter is a tracker that cancels the run after n iterations, as
// Ctrl-C would.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Start(context.Context, train.RunInfo) error { return nil }
func (c *cancelAfter) Iteration(_ context.Context, r algorithms.Result) error {
	if r.Iteration >= c.n {
		c.cancel()
	}
	return nil
}
func (c *cancelAfter) Finish(context.Context, *train.ResultFile) error { return nil }

// TestTrackerReportsInterruptedRun runs real tiny trainings with the
// Tracker: one interrupted after 3 iterations and one interrupted before
// its first; both leave RUN_DIR/report with every file.
func TestTrackerReportsInterruptedRun(t *testing.T) {
	for _, n := range []int{3, 0} {
		cfg, err := config.Parse("t.yaml", []byte("name: tiny\nenv: {id: CartPole-v1}\nstop: {iterations: 50}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 64}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if n == 0 {
			cancel()
		}
		dir := t.TempDir()
		out, err := train.RunConfig(ctx, &cfg.Config, train.Options{Out: dir, Trackers: []train.Tracker{&cancelAfter{n: n, cancel: cancel}, NewTracker()}})
		cancel()
		if err != nil {
			t.Fatalf("interrupted after %d: %v", n, err)
		}
		if !out.Interrupted {
			t.Fatalf("run was not interrupted (stopped by %s)", out.StopReason)
		}
		for _, f := range []string{"return_steps.png", "return_steps.svg", "return_time.png", "learner.png", "learner.svg", HTMLFile, MarkdownFile} {
			if _, err := os.Stat(filepath.Join(dir, Dir, f)); err != nil {
				t.Errorf("interrupted after %d iterations: %v", n, err)
			}
		}
		md, _ := os.ReadFile(filepath.Join(dir, Dir, MarkdownFile))
		if !bytes.Contains(md, []byte("| interrupted |")) {
			t.Errorf("interrupted after %d: summary.md has no interrupted run:\n%s", n, md)
		}
		data, _ := os.ReadFile(filepath.Join(dir, Dir, "return_steps.png"))
		checkPNG(t, data, "return_steps.png", ReturnWidthPx, ReturnHeightPx)
	}
}
