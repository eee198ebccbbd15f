package tensorboard

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/algorithms/ppo"
	_ "github.com/rlgo/rlgo/envs/classic"
	"github.com/rlgo/rlgo/train"
	"github.com/rlgo/rlgo/train/config"
)

// TestMaskedCRCCheckValue checks the CRC against the published CRC-32C
// check value: CRC32C("123456789") = 0xE3069283 (RFC 3720 §B.4; the
// "check" entry of the CRC catalogue for CRC-32/ISCSI).
func TestMaskedCRCCheckValue(t *testing.T) {
	if got := testCRC32C([]byte("123456789")); got != 0xE3069283 {
		t.Fatalf("test CRC32C(123456789) = %#x; want 0xe3069283", got)
	}
	if got, want := maskedCRC([]byte("123456789")), testMask(0xE3069283); got != want {
		t.Errorf("maskedCRC(123456789) = %#x; want %#x", got, want)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1_700_000_000, 250_000_000)
	w, err := NewWriter(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(512, t0.Add(time.Second), []Scalar{{"episode_return_mean", 21.5}, {"learner/entropy", 0.69}, {"skipped", math.NaN()}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(1024, t0.Add(2*time.Second), []Scalar{{"episode_return_mean", -3}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Text("config", 0, t0, "name: x"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.1700000000.*"))
	if len(files) != 1 || files[0] != w.Path() {
		t.Fatalf("event files = %v; want [%s]", files, w.Path())
	}
	evs, err := readEvents(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("read %d events; want 4", len(evs))
	}
	if evs[0].fileVersion != "brain.Event:2" || evs[0].wall != 1_700_000_000.25 {
		t.Errorf("first event = %+v; want file_version brain.Event:2 at 1700000000.25", evs[0])
	}
	type sv struct {
		step int64
		tag  string
		v    float32
	}
	var got []sv
	for _, ev := range evs[1:3] {
		for _, v := range ev.values {
			if !v.isSimple {
				t.Errorf("value %q has no simple_value", v.tag)
			}
			got = append(got, sv{ev.step, v.tag, v.simple})
		}
	}
	want := []sv{{512, "episode_return_mean", 21.5}, {512, "learner/entropy", 0.69}, {1024, "episode_return_mean", -3}}
	if len(got) != len(want) {
		t.Fatalf("scalars = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("scalar %d = %v; want %v", i, got[i], want[i])
		}
	}
	if evs[2].wall != 1_700_000_002.25 {
		t.Errorf("wall_time = %v; want 1700000002.25", evs[2].wall)
	}
	txt := evs[3].values[0]
	if txt.tag != "config" || txt.plugin != "text" || txt.tensor.varint(1) != 7 || txt.tensor.str(8) != "name: x" {
		t.Errorf("text value = %+v; want tag config, plugin text, DT_STRING tensor %q", txt, "name: x")
	}
}

func TestCorruptRecordIsDetected(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Scalars(1, time.Unix(2, 0), []Scalar{{"a", 1}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := os.ReadFile(w.Path())
	b[len(b)-6] ^= 1 // a byte of the last record's data
	os.WriteFile(w.Path(), b, 0o644)
	if _, err := readRecords(w.Path()); err == nil {
		t.Error("reading a flipped data byte: no error; want a data crc error")
	}
}

// TestTrackerRun runs a tiny real training run with the tracker and
// reads its event file back: every progress.csv column as a tag, at step
// env_steps, with the values of progress.csv; hparams with seed and a
// group name shared by another seed; the session end.
func TestTrackerRun(t *testing.T) {
	run := func(seed string) (string, []event) {
		cfg, err := config.Parse("tb.yaml", []byte("name: tb\nenv: {id: CartPole-v1}\nseed: "+seed+"\nstop: {iterations: 3}\nrollout: {workers: 1, envs_per_worker: 2, fragment_length: 32}\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := train.RunConfig(context.Background(), &cfg.Config, train.Options{Out: dir, Trackers: []train.Tracker{NewTracker()}}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, Dir, "events.out.tfevents.*"))
		if len(files) != 1 {
			t.Fatalf("event files in %s = %v; want one", filepath.Join(dir, Dir), files)
		}
		evs, err := readEvents(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return dir, evs
	}
	dir, evs := run("1")
	_, evs2 := run("2")

	rows := readProgress(t, filepath.Join(dir, "progress.csv"))
	if len(rows) != 3 {
		t.Fatalf("progress.csv has %d rows; want 3", len(rows))
	}
	var scalars []event
	var start, end, text []value
	for _, ev := range evs {
		for _, v := range ev.values {
			switch {
			case v.tag == "_hparams_/session_start_info":
				start = append(start, v)
			case v.tag == "_hparams_/session_end_info":
				end = append(end, v)
			case v.plugin == "text":
				text = append(text, v)
			}
		}
		if len(ev.values) > 0 && ev.values[0].isSimple {
			scalars = append(scalars, ev)
		}
	}
	if len(scalars) != len(rows) {
		t.Fatalf("%d scalar events; want one per progress row (%d)", len(scalars), len(rows))
	}
	for i, ev := range scalars {
		row := rows[i]
		if want := int64(row["env_steps"]); ev.step != want {
			t.Errorf("event %d step = %d; want env_steps %d", i, ev.step, want)
		}
		seen := map[string]bool{}
		for _, v := range ev.values {
			seen[v.tag] = true
			want, ok := row[v.tag]
			if !ok {
				t.Errorf("event %d: tag %q is not a progress.csv column (or is empty there)", i, v.tag)
				continue
			}
			if float32(want) != v.simple {
				t.Errorf("event %d %s = %v; want %v", i, v.tag, v.simple, float32(want))
			}
		}
		for tag := range row {
			if !seen[tag] {
				t.Errorf("event %d: progress.csv column %q has no tag", i, tag)
			}
		}
	}
	for _, tag := range append([]string{"episode_return_mean", "env_steps_per_s", "fleet/workers"}, ppo.LearnerMetrics...) {
		if _, ok := rows[2][tag]; !ok {
			t.Errorf("progress row 3 lacks %s (the check above would not cover it)", tag)
		}
	}

	if len(start) != 1 || start[0].plugin != "hparams" {
		t.Fatalf("session_start_info values = %+v; want one from the hparams plugin", start)
	}
	info := start[0].content.sub(3) // HParamsPluginData.session_start_info
	hp := map[string]message{}
	for _, f := range info[1] {
		e, _ := decode(f.b)
		hp[e.str(1)] = e.sub(2)
	}
	if got := hp["seed"].double(2); got != 1 {
		t.Errorf("hparam seed = %v; want number 1", got)
	}
	if got := hp["env.id"].str(3); got != "CartPole-v1" {
		t.Errorf("hparam env.id = %q; want string CartPole-v1", got)
	}
	if got := hp["ppo.lr"].double(2); got != ppo.DefaultConfig().LR {
		t.Errorf("hparam ppo.lr = %v; want %v", got, ppo.DefaultConfig().LR)
	}
	if got := hp["ppo.clip_value_loss"]; !got.has(4) {
		t.Errorf("hparam ppo.clip_value_loss = %v; want a bool_value", got)
	}
	if got := hp["model.hidden"].str(3); got != "[64, 64]" {
		t.Errorf("hparam model.hidden = %q; want [64, 64]", got)
	}
	if tn := start[0].tensor; tn.varint(1) != 1 || !tn.sub(2).has(2) {
		t.Errorf("session_start_info tensor = %v; want the hparams plugin's empty DT_FLOAT vector", tn)
	}
	group := info.str(4)
	var group2 string
	for _, ev := range evs2 {
		for _, v := range ev.values {
			if v.tag == "_hparams_/session_start_info" {
				group2 = v.content.sub(3).str(4)
			}
		}
	}
	if group == "" || group != group2 {
		t.Errorf("group names of seeds 1 and 2 = %q, %q; want one non-empty name", group, group2)
	}
	if len(end) != 1 || end[0].content.sub(4).varint(1) != StatusSuccess {
		t.Errorf("session_end_info = %+v; want one with status STATUS_SUCCESS (1)", end)
	}
	if len(text) != 2 || text[0].tag != "config" || text[1].tag != "result" {
		t.Errorf("text summaries = %+v; want config then result", text)
	}
}

func TestTrackerMarksErrorsAndInterruptions(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   uint64
	}{{"error", StatusFailure}, {"interrupted", StatusUnknown}} {
		dir := t.TempDir()
		cfg := config.Default()
		cfg.Env.ID = "CartPole-v1"
		tr := NewTracker(WithClock(func() time.Time { return time.Unix(100, 0) }))
		if err := tr.Start(context.Background(), train.RunInfo{Dir: dir, Config: &cfg, Columns: train.Columns(ppo.LearnerMetrics)}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Iteration(context.Background(), algorithms.Result{Iteration: 1, EnvSteps: 64}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Finish(context.Background(), &train.ResultFile{Status: tc.status, Error: "boom"}); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, Dir, "events.*"))
		evs, err := readEvents(files[0])
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1].values[0]
		if last.tag != "_hparams_/session_end_info" || last.content.sub(4).varint(1) != tc.want {
			t.Errorf("%s run: last value %q status %d; want session_end_info status %d", tc.status, last.tag, last.content.sub(4).varint(1), tc.want)
		}
	}
}
