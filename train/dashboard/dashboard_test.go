package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
)

// chromiumPath is where Debian's chromium package puts the browser
// (.ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

// dumpDOM loads url in headless Chromium, lets its scripts run for
// budget of virtual time, and returns the DOM as serialised then.
func dumpDOM(t *testing.T, url string, budget time.Duration) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (apt-get install chromium; .ci/run does)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget="+strconv.Itoa(int(budget/time.Millisecond)), "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

var pointsRE = regexp.MustCompile(`<svg id="curve"[^>]*data-points="(\d+)"`)
var polylineRE = regexp.MustCompile(`<polyline class="curve" id="line" points="([^"]+)"`)

// TestDashboardInChromium serves the page while a real training run goes
// on in-process, loads it in headless Chromium, and sees the curve drawn
// from the run's rows: an SVG polyline with one point per iteration that
// has episodes.
func TestDashboardInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (apt-get install chromium; .ci/run does)", chromiumPath)
	}
	tr := NewTracker()
	srv, err := Serve("127.0.0.1:0", tr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := config.Parse("d.yaml", []byte("name: dash\nenv: {id: CartPole-v1}\nstop: {iterations: 100000}\nrollout: {workers: 1, envs_per_worker: 4, fragment_length: 64}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := train.RunConfig(ctx, &cfg.Config, train.Options{Out: t.TempDir(), Trackers: []train.Tracker{tr}})
		done <- err
	}()
	withEpisodes := func() int {
		n := 0
		for _, r := range tr.Snapshot().Rows {
			if r.ReturnMean != nil {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(60 * time.Second); withEpisodes() < 3; {
		if time.Now().After(deadline) {
			t.Fatal("no 3 iterations with episodes within 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := withEpisodes()
	dom := dumpDOM(t, srv.URL(), 3*time.Second)
	after := withEpisodes()
	if s := tr.Snapshot().Status; s != "running" {
		t.Fatalf("the run is %s; the page should be seen while it runs", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	m := pointsRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no #curve with data-points in the DOM:\n%s", dom)
	}
	n, _ := strconv.Atoi(m[1])
	if n < before || n > after {
		t.Errorf("the page drew %d points; the run had %d to %d rows with episodes while it loaded", n, before, after)
	}
	pl := polylineRE.FindStringSubmatch(dom)
	if pl == nil {
		t.Fatalf("no curve polyline in the DOM:\n%s", dom)
	}
	if got := len(strings.Fields(pl[1])); got != n {
		t.Errorf("polyline has %d points; data-points says %d", got, n)
	}
	if !strings.Contains(dom, `<b id="status">running</b>`) || !strings.Contains(dom, `class="threshold"`) {
		t.Errorf("the page does not show the running status and the threshold line:\n%s", dom)
	}
}

// TestProgressJSON: the endpoint the page polls.
func TestProgressJSON(t *testing.T) {
	tr := NewTracker()
	srv, err := Serve("127.0.0.1:0", tr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func() Progress {
		resp, err := http.Get(srv.URL() + "api/progress")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p Progress
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := get(); p.Status != "waiting" || p.Rows == nil {
		t.Errorf("before the run: %+v", p)
	}
	cfg, err := config.Parse("d.yaml", []byte("name: dash\nenv: {id: CartPole-v1}\nstop: {iterations: 3}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 32}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.RunConfig(context.Background(), &cfg.Config, train.Options{Out: t.TempDir(), Trackers: []train.Tracker{tr}}); err != nil {
		t.Fatal(err)
	}
	p := get()
	if p.Status != "finished" || len(p.Rows) != 3 || p.Threshold == nil || *p.Threshold != 475 || p.Env != "CartPole-v1" {
		t.Errorf("after the run: %+v", p)
	}
	for i, r := range p.Rows {
		if r.Iteration != i+1 || r.EnvSteps != int64(64*(i+1)) {
			t.Errorf("row %d = %+v", i, r)
		}
	}
	resp, err := http.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("page CSP %q", csp)
	}
}

// TestProgressSince (issue 13): ?since=N returns only the rows after
// iteration N, so a page polling all day fetches increments; a since the
// run does not know (a new run) returns every row; the tracker keeps at
// most MaxRows however long the run, thinning old rows.
func TestProgressSince(t *testing.T) {
	tr := NewTracker()
	cfg, err := config.Parse("d.yaml", []byte("name: dash\nenv: {id: CartPole-v1}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tr.Start(ctx, train.RunInfo{Dir: "runs/dash", Config: &cfg.Config})
	for i := 1; i <= 10; i++ {
		tr.Iteration(ctx, algorithms.Result{Iteration: i, EnvSteps: int64(100 * i)})
	}
	srv := httptest.NewServer(Handler(tr))
	defer srv.Close()
	get := func(q string) (Progress, int) {
		resp, err := http.Get(srv.URL + "/api/progress" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var p Progress
		json.Unmarshal(b, &p)
		return p, len(b)
	}
	all, allBytes := get("")
	if !all.Full || len(all.Rows) != 10 {
		t.Fatalf("no since: full %v, %d rows; want all 10", all.Full, len(all.Rows))
	}
	inc, incBytes := get("?since=7")
	if inc.Full || len(inc.Rows) != 3 || inc.Rows[0].Iteration != 8 || incBytes >= allBytes {
		t.Errorf("since=7: full %v, rows %+v (%d bytes, all %d); want iterations 8..10 only", inc.Full, inc.Rows, incBytes, allBytes)
	}
	if p, _ := get("?since=10"); p.Full || len(p.Rows) != 0 {
		t.Errorf("since=10: %+v; want no rows", p)
	}
	if p, _ := get("?since=99"); !p.Full || len(p.Rows) != 10 {
		t.Errorf("since=99 (a run the page does not know): %+v; want all rows", p)
	}
	if resp, err := http.Get(srv.URL + "/api/progress?since=x"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=x: %v %v; want 400", resp.Status, err)
	}
	for i := 11; i <= 5*MaxRows; i++ {
		tr.Iteration(ctx, algorithms.Result{Iteration: i})
	}
	p := tr.Snapshot()
	if len(p.Rows) > MaxRows || len(p.Rows) < MaxRows/2 || p.Rows[0].Iteration != 1 || p.Rows[len(p.Rows)-1].Iteration != 5*MaxRows {
		t.Errorf("after %d iterations: %d rows from %d to %d; want at most %d, first and last kept", 5*MaxRows, len(p.Rows), p.Rows[0].Iteration, p.Rows[len(p.Rows)-1].Iteration, MaxRows)
	}
	for i := 1; i < len(p.Rows); i++ {
		if p.Rows[i].Iteration <= p.Rows[i-1].Iteration {
			t.Fatalf("rows out of order at %d", i)
		}
	}
}
