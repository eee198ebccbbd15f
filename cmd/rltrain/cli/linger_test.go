package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDashboardLingers (issue 13): the dashboard keeps serving the ended
// run until Ctrl-C (or --dashboard-linger), so a run of a few seconds can
// be looked at; Ctrl-C then exits with the run's own code, 0.
func TestDashboardLingers(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("name: linger\nenv: {id: CartPole-v1}\nstop: {iterations: 3}\nrollout: {workers: 1, envs_per_worker: 1, fragment_length: 16}\n"), 0o644)
	runDir := filepath.Join(dir, "run")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr trackBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"train", cfg, "--out", runDir, "--dashboard", "127.0.0.1:0"}, Options{Stdout: &stdout, Stderr: &stderr})
	}()
	re := regexp.MustCompile(`still serving (http://\S+/) until Ctrl-C`)
	var url string
	for end := time.Now().Add(60 * time.Second); url == "" && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case c := <-code:
			t.Fatalf("rltrain exited %d without lingering:\n%s", c, stderr.String())
		default:
		}
	}
	if url == "" {
		t.Fatalf("no 'still serving' line:\n%s", stderr.String())
	}
	time.Sleep(200 * time.Millisecond)
	resp, err := http.Get(url + "api/progress")
	if err != nil {
		t.Fatalf("dashboard after the run: %v", err)
	}
	var p struct {
		Status string
		Rows   []json.RawMessage
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if p.Status != "finished" || len(p.Rows) != 3 {
		t.Errorf("dashboard after the run: status %q, %d rows; want finished and 3", p.Status, len(p.Rows))
	}
	cancel()
	select {
	case c := <-code:
		if c != ExitOK {
			t.Errorf("exit %d after Ctrl-C while lingering; want the run's 0", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not end the lingering dashboard")
	}

	// --dashboard-linger bounds it.
	start := time.Now()
	c := Main(context.Background(), []string{"train", cfg, "--out", filepath.Join(dir, "run2"), "--dashboard", "127.0.0.1:0", "--dashboard-linger", "300ms"}, Options{Stdout: &stdout, Stderr: &stderr})
	if c != ExitOK || time.Since(start) < 300*time.Millisecond || !strings.Contains(stderr.String(), "for 300ms") {
		t.Errorf("--dashboard-linger 300ms: exit %d after %s", c, time.Since(start))
	}
}
