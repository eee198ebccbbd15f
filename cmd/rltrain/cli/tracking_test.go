package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// trackBuffer is a bytes.Buffer written by the command and read by the test.
type trackBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *trackBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *trackBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mlflowRecorder is a minimal MLflow server that records the calls in
// order (train/mlflow's tests check the schema in depth).
type mlflowRecorder struct {
	mu     sync.Mutex
	calls  []string
	status string
}

func (m *mlflowRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	path := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/2.0/mlflow/"), "/api/2.0/mlflow-artifacts/")
	if strings.HasPrefix(path, "artifacts/") {
		path = "artifacts"
	}
	call := r.Method + " " + path
	if len(m.calls) == 0 || m.calls[len(m.calls)-1] != call {
		m.calls = append(m.calls, call)
	}
	w.Header().Set("Content-Type", "application/json")
	switch call {
	case "GET experiments/get-by-name":
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no such experiment"}`)
	case "POST experiments/create":
		io.WriteString(w, `{"experiment_id":"1"}`)
	case "POST runs/create":
		io.WriteString(w, `{"run":{"info":{"run_id":"r1","experiment_id":"1","artifact_uri":"mlflow-artifacts:/1/r1/artifacts"}}}`)
	case "POST runs/update":
		var b struct{ Status string }
		json.NewDecoder(r.Body).Decode(&b)
		m.status = b.Status
		io.WriteString(w, `{}`)
	default:
		io.WriteString(w, `{}`)
	}
}

var urlRE = func(what string) *regexp.Regexp { return regexp.MustCompile(what + `: (http://\S+)`) }

func scrapeSteps(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := fams["rlgo_env_steps_total"]
	if f == nil || len(f.Metric) == 0 {
		t.Fatalf("no rlgo_env_steps_total at %s", url)
	}
	return f.Metric[0].GetCounter().GetValue()
}

// TestTrainTracking runs rltrain train with --metrics-addr, --dashboard
// and tracking.mlflow.uri: /metrics shows env steps rising during the
// run, the dashboard serves the rows, the MLflow run ends FINISHED, and
// the run's report.html renders in headless Chromium with every image
// loaded at its size.
func TestTrainTracking(t *testing.T) {
	var rec mlflowRecorder
	ml := httptest.NewServer(&rec)
	defer ml.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfgPath, []byte("name: track\nenv: {id: CartPole-v1}\nstop: {iterations: 150}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 32}\n"), 0o644)
	runDir := filepath.Join(dir, "run")
	var stdout, stderr trackBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main(context.Background(), []string{"train", cfgPath, "--out", runDir, "--metrics-addr", "127.0.0.1:0", "--dashboard", "127.0.0.1:0", "--dashboard-linger", "0",
			"--set", "tracking.mlflow.uri=" + ml.URL}, Options{Stdout: &stdout, Stderr: &stderr})
	}()
	find := func(re *regexp.Regexp) string {
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if m := re.FindStringSubmatch(stderr.String()); m != nil {
				return m[1]
			}
		}
		t.Fatalf("no %v in stderr:\n%s", re, stderr.String())
		return ""
	}
	metricsURL, dashURL := find(urlRE("metrics")), find(urlRE("dashboard"))
	var first float64
	for end := time.Now().Add(30 * time.Second); first == 0 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		first = scrapeSteps(t, metricsURL)
	}
	var second float64
	for end := time.Now().Add(30 * time.Second); second <= first && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		second = scrapeSteps(t, metricsURL)
	}
	if !(second > first && first > 0) {
		t.Errorf("rlgo_env_steps_total %v then %v; want it rising during the run", first, second)
	}
	resp, err := http.Get(dashURL + "api/progress")
	if err != nil {
		t.Fatalf("dashboard during the run: %v", err)
	}
	var prog struct {
		Status string
		Rows   []json.RawMessage
	}
	json.NewDecoder(resp.Body).Decode(&prog)
	resp.Body.Close()
	if prog.Status != "running" || len(prog.Rows) == 0 {
		t.Errorf("dashboard progress during the run: status %q, %d rows", prog.Status, len(prog.Rows))
	}
	select {
	case c := <-code:
		if c != ExitOK {
			t.Fatalf("exit %d\n%s", c, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the run did not end")
	}
	rec.mu.Lock()
	calls, status := rec.calls, rec.status
	rec.mu.Unlock()
	want := "GET experiments/get-by-name,POST experiments/create,POST runs/create,POST runs/log-batch,PUT artifacts,POST runs/update"
	if strings.Join(calls, ",") != want || status != "FINISHED" {
		t.Errorf("MLflow calls %v, status %q; want %s ending FINISHED", calls, status, want)
	}
	if _, err := os.Stat(filepath.Join(runDir, "mlflow.json")); err != nil {
		t.Error(err)
	}
	checkReportInChromium(t, filepath.Join(runDir, "report"))
}

// checkReportInChromium serves the report directory next to a page that
// frames report.html (left as it is: no script of its own) and reports
// every image's load state into its DOM, which headless Chromium dumps.
func checkReportInChromium(t *testing.T, reportDir string) {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no %s (apt-get install chromium; .ci/run does)", chromium)
	}
	mux := http.NewServeMux()
	mux.Handle("/report/", http.StripPrefix("/report/", http.FileServer(http.Dir(reportDir))))
	mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!DOCTYPE html><html><body><div id="result">pending</div>
<iframe id="f" src="/report/report.html" width="1400" height="900"></iframe>
<script>
document.getElementById("f").addEventListener("load", () => {
  const imgs = Array.from(document.getElementById("f").contentDocument.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  document.getElementById("result").textContent = "images=" + imgs.length + " loaded=" + ok.length + " sizes=" + imgs.map(i => i.naturalWidth + "x" + i.naturalHeight).join(",");
});
</script></body></html>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", srv.URL+"/check")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	m := regexp.MustCompile(`images=(\d+) loaded=(\d+) sizes=([0-9x,]*)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("the check page did not report the images:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	loaded, _ := strconv.Atoi(m[2])
	if n < 3 || loaded != n {
		t.Fatalf("report.html: %d of %d images loaded; want all of at least 3 (%s)", loaded, n, m[3])
	}
	sizes := strings.Split(m[3], ",")
	for _, want := range []string{"960x600"} {
		found := 0
		for _, s := range sizes {
			if s == want {
				found++
			}
		}
		if found < 2 {
			t.Errorf("report.html images %v; want the two return plots at %s", sizes, want)
		}
	}
}
