package remote

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rlgo/rlgo/internal/wire"
)

// rawCodec sends []byte payloads as they are, under the msgpack
// content-subtype, so a test can put hostile bytes on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return CodecName }

// hostile are payloads that must be rejected before msgpack decodes them
// (facts.md: v5.4.1 allocates the declared length up front).
var hostile = []struct {
	name string
	b    []byte
}{
	{"array32 bomb", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
	{"bin32 bomb", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}},
	{"str32 bomb", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}},
	{"map32 bomb", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
	{"nested map32", append([]byte{0x81, 0xa1, 'a'}, 0xdf, 0x7f, 0xff, 0xff, 0xff)},
	{"truncated map", []byte{0x82, 0xa1, 'a'}},
	{"deep nesting", func() []byte {
		b := make([]byte, 200)
		for i := range b {
			b[i] = 0x91 // fixarray of one element, 200 deep
		}
		return append(b, 0xc0)
	}()},
	{"trailing bytes", []byte{0x80, 0x00}},
	{"reserved byte", []byte{0xc1}},
}

func TestCodecRejectsHostileBytesBeforeDecoding(t *testing.T) {
	for _, h := range hostile {
		var req RegisterRequest
		err := codec{}.Unmarshal(h.b, &req)
		if !errors.Is(err, wire.ErrMalformed) {
			t.Errorf("%s: Unmarshal(% x) = %v; want wire.ErrMalformed", h.name, h.b, err)
		}
	}
}

func TestServerRejectsHostilePayloads(t *testing.T) {
	s := startBuf(t, fastConfig(), cartPoleRun())
	if _, err := s.Fleet(cartPoleSpec(), initWeights(cartPoleSpec(), 1)); err != nil {
		t.Fatal(err)
	}
	cc := s.conn(t, grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	for _, m := range []string{methodRegister, methodWaitWork, methodUpload, methodHeartbeat} {
		for _, h := range hostile {
			in, out := h.b, []byte(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := cc.Invoke(ctx, fullMethod(m), &in, &out)
			cancel()
			// grpc answers Internal itself when the codec fails: the
			// handler never sees the request. An upload's handler does,
			// to count it as rejected: InvalidArgument.
			want := codes.Internal
			if m == methodUpload {
				want = codes.InvalidArgument
			}
			if status.Code(err) != want || !strings.Contains(err.Error(), "malformed message") {
				t.Errorf("%s(%s) = %v; want %v: malformed message", m, h.name, err, want)
			}
		}
	}
	// The server is alive and well after all that.
	fw := newFakeWorker(t, s.conn(t))
	if fw.reg.Index != 0 {
		t.Errorf("Register after hostile payloads: index %d; want 0", fw.reg.Index)
	}
}

// TestUploadHostileBatchBytes puts hostile bytes where an upload's batch
// goes. The batch is inline in the request, so the codec's one walk over
// the request refuses the malformed ones before anything is decoded, and
// well-formed msgpack that is no batch fails to decode or validate: all
// are answered InvalidArgument and counted as rejected, and the task is
// taken from the worker that sent them (issue 13: a rejected upload
// could be repeated against a task held).
func TestUploadHostileBatchBytes(t *testing.T) {
	s := startBuf(t, fastConfig(), cartPoleRun())
	f, _ := s.Fleet(cartPoleSpec(), initWeights(cartPoleSpec(), 1))
	if err := f.SetWeights(context.Background(), initWeights(cartPoleSpec(), 1)); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	task := fw.task()
	raw := s.conn(t, grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	upload := func(batch []byte) error {
		in, err := wire.Marshal(struct { // an UploadRequest, batch last
			WorkerID string             `msgpack:"worker_id"`
			TaskID   string             `msgpack:"task_id"`
			Batch    msgpack.RawMessage `msgpack:"batch"`
		}{fw.reg.WorkerID, task, batch})
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return raw.Invoke(ctx, fullMethod(methodUpload), &in, &out)
	}
	for _, h := range hostile {
		task = fw.task() // the last one was taken away
		if err := upload(h.b); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "malformed message") {
			t.Errorf("UploadBatch(%s) = %v; want InvalidArgument: malformed message", h.name, err)
		}
	}
	notBatches := []struct {
		name string
		b    []byte
	}{
		{"a string", []byte{0xa1, 'x'}},
		{"obs a string", []byte{0x81, 0xa3, 'o', 'b', 's', 0xa1, 'x'}},
		{"obs of 3 bytes", []byte{0x81, 0xa3, 'o', 'b', 's', 0xc4, 3, 1, 2, 3}},
		{"a terminated byte of 2", []byte{0x81, 0xaa, 't', 'e', 'r', 'm', 'i', 'n', 'a', 't', 'e', 'd', 0xc4, 1, 2}},
		{"an empty map", []byte{0x80}},
		{"nil", []byte{0xc0}},
	}
	for _, nb := range notBatches {
		task = fw.task()
		if err := upload(nb.b); status.Code(err) != codes.InvalidArgument {
			t.Errorf("UploadBatch(%s) = %v; want InvalidArgument", nb.name, err)
		}
	}
	if st := f.Stats(); st.Total.Rejected != int64(len(hostile)+len(notBatches)) || st.Total.Fragments != 0 {
		t.Errorf("Stats() = %+v; want %d rejected, 0 fragments", st.Total, len(hostile)+len(notBatches))
	}
	// The rejected task is no longer the worker's: a good batch for it is
	// stale, and the task is given out again.
	if got, err := fw.upload(task, fw.sample()); err != nil || got != Stale {
		t.Errorf("UploadBatch(good, rejected task) = %v, %v; want stale", got, err)
	}
	task = fw.task()
	if got, err := fw.upload(task, fw.sample()); err != nil || got != Accepted {
		t.Errorf("UploadBatch(good, new task) = %v, %v; want accepted", got, err)
	}
}

// TestVersionGatingAndIdempotentUploads walks one worker through two
// iterations: it is told which version to act with, batches of an older
// version are stale, a retried upload is a duplicate counted once.
func TestVersionGatingAndIdempotentUploads(t *testing.T) {
	run := cartPoleRun()
	run.Rollout.Workers = 2 // two fragments per iteration, from one worker
	s := startBuf(t, fastConfig(), run)
	spec := cartPoleSpec()
	f, err := s.Fleet(spec, initWeights(spec, 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.SetWeights(ctx, initWeights(spec, 1)); err != nil {
		t.Fatal(err)
	}
	fw := newFakeWorker(t, s.conn(t))
	if fw.reg.Version != 1 || fw.pol.Version() != 1 {
		t.Fatalf("Register: version %d; want 1", fw.reg.Version)
	}
	staleBatch := fw.sample() // acted with v1, uploaded during v2

	type result struct {
		n   int
		err error
	}
	sampled := make(chan result, 1)
	go func() { b, err := f.Sample(ctx); sampled <- result{len(b), err} }()
	for i := range 2 {
		task := fw.task()
		data := fw.sample()
		if got, err := fw.upload(task, data); err != nil || got != Accepted {
			t.Fatalf("fragment %d: UploadBatch = %v, %v; want accepted", i, got, err)
		}
		if got, err := fw.upload(task, data); err != nil || got != Duplicate {
			t.Fatalf("fragment %d retried: UploadBatch = %v, %v; want duplicate", i, got, err)
		}
	}
	if r := <-sampled; r.err != nil || r.n != 2 {
		t.Fatalf("Sample = %d batches, %v; want 2", r.n, r.err)
	}
	if st := f.Stats(); st.Last.Fragments != 2 || st.Total.Duplicate != 2 {
		t.Errorf("Stats() = %+v; want 2 fragments, 2 duplicates", st)
	}

	// Iteration 2: the worker must fetch v2 before it gets a task.
	w2 := initWeights(spec, 2)
	w2.Tensors[0].Data[0] += 1
	if err := f.SetWeights(ctx, w2); err != nil {
		t.Fatal(err)
	}
	rep, err := fw.poll()
	if err != nil || rep.Version != 2 || len(rep.Weights) == 0 {
		t.Fatalf("WaitWork after SetWeights(v2) = %+v, %v; want version 2 with weights", rep, err)
	}
	if fw.pol.Version() != 2 {
		t.Fatalf("worker acts with v%d; want v2", fw.pol.Version())
	}
	task := rep.TaskID
	if task == "" {
		task = fw.task()
	}
	if got, err := fw.upload(task, staleBatch); err != nil || got != Stale {
		t.Errorf("UploadBatch(v1 batch in v2) = %v, %v; want stale", got, err)
	}
	if got, err := fw.upload("L0.v1.t1", fw.sample()); err != nil || got != Stale {
		t.Errorf("UploadBatch(unknown task) = %v, %v; want stale", got, err)
	}
	if got, err := fw.upload(task, fw.sample()); err != nil || got != Accepted {
		t.Errorf("UploadBatch(v2 batch) = %v, %v; want accepted", got, err)
	}
	if st := f.Stats(); st.Total.Stale != 2 || st.Total.Fragments != 3 {
		t.Errorf("Stats() = %+v; want 2 stale, 3 fragments in all", st)
	}
}

func TestUnknownWorkerMustRegisterAgain(t *testing.T) {
	s := startBuf(t, fastConfig(), cartPoleRun())
	s.Fleet(cartPoleSpec(), initWeights(cartPoleSpec(), 1))
	cc := s.conn(t)
	_, err := invoke[WaitWorkReply](context.Background(), cc, methodWaitWork, &WaitWorkRequest{WorkerID: "nobody"}, time.Second)
	if status.Code(err) != codes.NotFound {
		t.Errorf("WaitWork(unknown) = %v; want NotFound", err)
	}
	_, err = invoke[RegisterReply](context.Background(), cc, methodRegister, &RegisterRequest{Protocol: 99}, time.Second)
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Register(protocol 99) = %v; want FailedPrecondition", err)
	}
}

// TestAuthMatrix: no token, wrong token, right token; health needs none.
func TestAuthMatrix(t *testing.T) {
	cfg := fastConfig()
	cfg.Token = "s3cret"
	s := startBuf(t, cfg, cartPoleRun())
	s.Fleet(cartPoleSpec(), initWeights(cartPoleSpec(), 1))
	req := &RegisterRequest{Protocol: ProtocolVersion}
	for _, tc := range []struct {
		name  string
		token string
		want  codes.Code
	}{
		{"no token", "", codes.Unauthenticated},
		{"wrong token", "s3cret!", codes.PermissionDenied},
		{"prefix of token", "s3c", codes.PermissionDenied},
		{"right token", "s3cret", codes.OK},
	} {
		var opts []grpc.DialOption
		if tc.token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(tokenCreds{token: tc.token}))
		}
		cc := s.conn(t, opts...)
		_, err := invoke[RegisterReply](context.Background(), cc, methodRegister, req, 5*time.Second)
		if status.Code(err) != tc.want {
			t.Errorf("%s: Register = %v; want %v", tc.name, err, tc.want)
		}
		// The interceptor, not only the tap handle, refuses it.
		md := map[string]string{}
		if tc.token != "" {
			md[authHeader] = "Bearer " + tc.token
		}
		if err := newAuthenticator(cfg.Token).check(metadata.New(md)); status.Code(err) != tc.want {
			t.Errorf("%s: check = %v; want %v", tc.name, err, tc.want)
		}
	}
	hc := healthpb.NewHealthClient(s.conn(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: ServiceName})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Check without token = %v, %v; want SERVING", resp, err)
	}
}

func TestHealthNotServingAfterClose(t *testing.T) {
	s := startBuf(t, fastConfig(), cartPoleRun())
	hc := healthpb.NewHealthClient(s.conn(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := stream.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch = %v, %v; want SERVING", r, err)
	}
	go s.Close()
	if r, err := stream.Recv(); err == nil && r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Watch after Close = %v; want NOT_SERVING (or the stream ended)", r.Status)
	}
}

func TestListenAndDialSecurity(t *testing.T) {
	for _, tc := range []struct {
		addr, token     string
		tls, plain, bad bool
	}{
		{addr: "127.0.0.1:7071"},
		{addr: "localhost:7071"},
		{addr: "[::1]:7071"},
		{addr: ":7071", bad: true},
		{addr: "0.0.0.0:7071", token: "t", bad: true},
		{addr: "0.0.0.0:7071", token: "t", plain: true},
		{addr: "0.0.0.0:7071", token: "t", tls: true},
		{addr: "10.0.0.5:7071", plain: true, bad: true},
	} {
		cfg := Config{Listen: tc.addr, Token: tc.token, AllowPlaintext: tc.plain}
		if tc.tls {
			cfg.TLSCertFile, cfg.TLSKeyFile = "c.pem", "k.pem"
		}
		if err := cfg.Validate(); (err != nil) != tc.bad {
			t.Errorf("Validate(%+v) = %v; want error: %v", tc, err, tc.bad)
		}
	}
	if err := (Config{Listen: "127.0.0.1:1", TLSCertFile: "c.pem"}).Validate(); err == nil {
		t.Error("Validate(cert without key) = nil; want an error")
	}
	for _, tc := range []struct {
		addr, token     string
		tls, plain, bad bool
	}{
		{addr: "learner:7071", token: "t", bad: true},
		{addr: "learner:7071", token: "t", plain: true},
		{addr: "learner:7071", token: "t", tls: true},
		{addr: "learner:7071"},
		{addr: "127.0.0.1:7071", token: "t"},
	} {
		cfg := WorkerConfig{Learner: tc.addr, Token: tc.token, AllowPlaintext: tc.plain}
		if tc.tls {
			cfg.TLSCAFile = "ca.pem"
		}
		if err := cfg.Validate(); (err != nil) != tc.bad {
			t.Errorf("WorkerConfig.Validate(%+v) = %v; want error: %v", tc, err, tc.bad)
		}
	}
}

// TestDeadWorkerFragmentGoesToAnother: a worker takes a task and goes
// silent; after WorkerTimeout it is dropped, the other worker samples
// the fragment, and the silent one's late batch is not counted.
func TestDeadWorkerFragmentGoesToAnother(t *testing.T) {
	cfg := fastConfig()
	s := startBuf(t, cfg, cartPoleRun())
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	f.SetWeights(context.Background(), initWeights(spec, 1))
	a, b := newFakeWorker(t, s.conn(t)), newFakeWorker(t, s.conn(t))
	ta := a.task()
	lateData := a.sample()
	done := make(chan error, 1)
	go func() { _, _, err := sampleWithin(f, 10*time.Second); done <- err }()
	start := time.Now()
	for range 2 { // b does its own fragment, then a's once a is dropped
		tb := b.task()
		if got, err := b.upload(tb, b.sample()); err != nil || got != Accepted {
			t.Fatalf("UploadBatch(b) = %v, %v; want accepted", got, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Sample = %v", err)
	}
	if el := time.Since(start); el > cfg.WorkerTimeout+2*time.Second {
		t.Errorf("Sample took %s with one dead worker; want about WorkerTimeout %s", el, cfg.WorkerTimeout)
	}
	st := f.Stats()
	if st.Workers != 1 || st.Last.Dropped != 1 {
		t.Errorf("Stats() = %+v; want 1 worker, 1 dropped", st)
	}
	if _, err := a.upload(ta, lateData); status.Code(err) != codes.NotFound {
		t.Errorf("late UploadBatch from a dropped worker = %v; want NotFound", err)
	}
	// a comes back with its old id: a restart, and a new index-0 member.
	reg, err := invoke[RegisterReply](context.Background(), a.cc, methodRegister, &RegisterRequest{Protocol: ProtocolVersion, PreviousID: a.reg.WorkerID}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st := f.Stats(); st.Restarts != 1 || st.Workers != 2 || reg.Index != a.reg.Index {
		t.Errorf("after re-register: %+v, index %d; want 1 restart, 2 workers, index %d", st, reg.Index, a.reg.Index)
	}
}

func TestSampleTimeoutNamesTheSituation(t *testing.T) {
	cfg := fastConfig()
	cfg.SampleTimeout = 1500 * time.Millisecond
	s := startBuf(t, cfg, cartPoleRun())
	spec := cartPoleSpec()
	f, _ := s.Fleet(spec, initWeights(spec, 1))
	f.SetWeights(context.Background(), initWeights(spec, 1))
	newFakeWorker(t, s.conn(t)).task() // takes a task, never uploads, then dies
	_, _, err := sampleWithin(f, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "no healthy worker") {
		t.Errorf("Sample = %v; want a timeout naming 'no healthy worker'", err)
	}
}
