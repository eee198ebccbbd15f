package serve

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// heldRequests starts n POSTs to /v1/act whose bodies are held back, and
// waits until their n handlers run (counted as on their way). send
// releases the i-th body; the returned channel yields each status code.
func heldRequests(t *testing.T, s *served, n int) (send func(i int), codes <-chan int) {
	t.Helper()
	out := make(chan int, n)
	pws := make([]*io.PipeWriter, n)
	var wg sync.WaitGroup
	for i := range n {
		pr, pw := io.Pipe()
		pws[i] = pw
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, s.url+"/v1/act", pr)
			if err != nil {
				t.Error(err)
				out <- 0
				return
			}
			resp, err := s.client.Do(req)
			if err != nil {
				t.Error(err)
				out <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			out <- resp.StatusCode
		})
	}
	t.Cleanup(func() {
		for _, pw := range pws {
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}
		wg.Wait()
	})
	waitFor(t, "handlers on their way", func() bool { return s.srv.batch.arriving.Load() == int64(n) })
	return func(i int) {
		if _, err := io.Copy(pws[i], bytes.NewReader([]byte(`{"observation":[0.1,0,0,0.2]}`))); err != nil {
			t.Error(err)
		}
		pws[i].Close()
	}, out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// batchCount returns how many forward passes the server ran and their
// rows in all (rlgo_serve_batch_size).
func batchCount(t *testing.T, s *Server) (passes uint64, rows float64) {
	t.Helper()
	var m dto.Metric
	if err := s.metrics.batchRows.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestBatcherWaits: with max_wait, a request that arrives alone is
// answered at once (nothing else is on its way to batch it with), and
// requests on their way together are answered by one forward pass; the
// count of requests on their way returns to 0 after answered and refused
// requests of both protocols.
func TestBatcherWaits(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		s := serveTest(t, Config{MaxWait: time.Second}, testPolicy(t, "actor_critic", 1, 1))
		cc := s.dial(t)
		for i := range 5 {
			start := time.Now()
			if code, rep := s.post(t, map[string]any{"observation": []float32{0.1, 0, 0, float32(i)}}); code != http.StatusOK {
				t.Fatalf("POST: %d %v", code, rep)
			}
			if _, err := s.grpcAct(t.Context(), cc, &ActRequest{Observation: []float32{0.1, 0, 0, float32(i)}}); err != nil {
				t.Fatal(err)
			}
			// Both wait 1 s if they wait for max_wait; 300 ms leaves room
			// for a loaded machine.
			if d := time.Since(start); d > 300*time.Millisecond {
				t.Errorf("request %d alone, over HTTP then gRPC: %v with max_wait 1s; want no wait", i, d)
			}
		}
		if passes, rows := batchCount(t, s.srv); passes != 10 || rows != 10 {
			t.Errorf("forward passes = %d of %v rows; want 10 of 10", passes, rows)
		}
	})
	t.Run("together", func(t *testing.T) {
		const n = 8
		s := serveTest(t, Config{MaxWait: time.Second, MaxBatch: 64}, testPolicy(t, "actor_critic", 1, 1))
		send, codes := heldRequests(t, s, n)
		for i := range n {
			send(i)
		}
		for range n {
			if c := <-codes; c != http.StatusOK {
				t.Errorf("status %d; want 200", c)
			}
		}
		if passes, rows := batchCount(t, s.srv); passes != 1 || rows != n {
			t.Errorf("forward passes = %d of %v rows; want 1 of %d (the requests were on their way together)", passes, rows, n)
		}
	})
}
