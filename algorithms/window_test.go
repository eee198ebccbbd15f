package algorithms

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rlgo/rlgo/rollout"
)

func ep(ret float64, metrics ...float64) rollout.EpisodeStats {
	return rollout.EpisodeStats{Return: ret, Length: int(ret), Metrics: metrics}
}

func TestWindowCustomMetrics(t *testing.T) {
	many := make([]rollout.EpisodeStats, 150)
	for i := range many {
		many[i] = ep(float64(i), float64(i), 1)
	}
	tests := []struct {
		name     string
		names    []string
		episodes []rollout.EpisodeStats
		want     []Metric
	}{
		{"no episodes: absent", []string{"fuel"}, nil, nil},
		{"no metrics declared", nil, []rollout.EpisodeStats{ep(1, 5)}, nil},
		// The window holds aggregated values (sum or last is the worker's
		// business); the window averages them like the return.
		{"mean in declared order", []string{"fuel", "crashed"}, []rollout.EpisodeStats{ep(1, 10, 1), ep(2, 20, 0)},
			[]Metric{{"custom/fuel", 15}, {"custom/crashed", 0.5}}},
		{"episode without values is left out", []string{"fuel", "crashed"}, []rollout.EpisodeStats{ep(1, 10, 1), ep(2), ep(3, 20)},
			[]Metric{{"custom/fuel", 15}, {"custom/crashed", 1}}},
		{"none reported: absent", []string{"fuel"}, []rollout.EpisodeStats{ep(1), ep(2)}, nil},
		// Episodes 50..149 remain: fuel mean 99.5.
		{"last 100 episodes", []string{"fuel", "one"}, many, []Metric{{"custom/fuel", 99.5}, {"custom/one", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewEpisodeWindow(100)
			w.SetMetricNames(tt.names)
			w.AddBatches([]*rollout.SampleBatch{{Episodes: tt.episodes}})
			var r Result
			w.Fill(&r)
			if !reflect.DeepEqual(r.Custom, tt.want) {
				t.Errorf("Custom = %v; want %v", r.Custom, tt.want)
			}
			if len(tt.episodes) > 0 && r.EpisodeReturnMean != (func() float64 {
				var r Result
				plain := NewEpisodeWindow(100)
				for _, e := range tt.episodes {
					plain.Add(e.Return, e.Length)
				}
				plain.Fill(&r)
				return r.EpisodeReturnMean
			})() {
				t.Error("custom metrics changed episode_return_mean")
			}
		})
	}
}

func TestWindowNewEpisodes(t *testing.T) {
	w := NewEpisodeWindow(2)
	w.SetMetricNames([]string{"fuel"})
	in := []rollout.EpisodeStats{ep(1, 1), ep(2, 2), ep(3, 3)}
	w.AddBatches([]*rollout.SampleBatch{{Episodes: in[:1]}, {Episodes: in[1:]}})
	var r1, r2 Result
	w.Fill(&r1)
	if !reflect.DeepEqual(r1.NewEpisodes, in) {
		t.Errorf("NewEpisodes = %v; want every episode of the iteration, beyond the window size too: %v", r1.NewEpisodes, in)
	}
	in[0].Metrics[0] = 99 // the window keeps its own copy
	if v, _ := r1.CustomValue("fuel"); v != 2.5 || r1.NewEpisodes[0].Metrics[0] != 1 {
		t.Errorf("fuel = %v, first episode %v; want 2.5 and the values as added", v, r1.NewEpisodes[0])
	}
	w.Fill(&r2)
	if r2.NewEpisodes != nil || r2.Episodes != 3 {
		t.Errorf("second Fill: NewEpisodes %v, Episodes %d; want none new, 3 in all", r2.NewEpisodes, r2.Episodes)
	}
}

func TestAddCustom(t *testing.T) {
	var r Result
	r.AddCustom("a", 1)
	r.AddCustom("b", 2)
	r.AddCustom("a", 3)
	if want := []Metric{{"custom/a", 3}, {"custom/b", 2}}; !reflect.DeepEqual(r.Custom, want) {
		t.Errorf("Custom = %v; want %v", r.Custom, want)
	}
	if _, ok := r.CustomValue("c"); ok {
		t.Error("CustomValue of a missing name is present")
	}
}

// fill returns the window's result as msgpack would see it after a round trip.
func fill(w *EpisodeWindow) Result {
	var r Result
	w.Fill(&r)
	r.NewEpisodes = nil
	return r
}

func TestWindowStateRoundTrip(t *testing.T) {
	names := []string{"fuel", "crashed"}
	src := NewEpisodeWindow(4)
	src.SetMetricNames(names)
	for i := 0; i < 6; i++ { // wraps the ring
		e := ep(float64(i), float64(10*i), float64(i%2))
		if i == 3 {
			e.Metrics = nil // NaN survives the round trip
		}
		src.AddEpisode(e)
	}
	b, err := msgpack.Marshal(src.State())
	if err != nil {
		t.Fatal(err)
	}
	var st WindowState
	if err := msgpack.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	dst := NewEpisodeWindow(4)
	dst.SetMetricNames(names)
	if err := dst.SetState(st); err != nil {
		t.Fatal(err)
	}
	want := fill(src)
	if got := fill(dst); !reflect.DeepEqual(got, want) {
		t.Errorf("restored window fills %+v; want %+v", got, want)
	}
	// Both go on identically.
	src.AddEpisode(ep(7, 70, 1))
	dst.AddEpisode(ep(7, 70, 1))
	if got, want := fill(dst), fill(src); !reflect.DeepEqual(got, want) {
		t.Errorf("after one more episode: %+v; want %+v", got, want)
	}

	// Declared metrics are matched by name: a new one starts empty.
	other := NewEpisodeWindow(4)
	other.SetMetricNames([]string{"crashed", "new"})
	if err := other.SetState(st); err != nil {
		t.Fatal(err)
	}
	r := fill(other)
	// Kept: episodes 2..5, crashed 0, not reported, 0, 1.
	if v, ok := r.CustomValue("crashed"); !ok || v != 1.0/3 {
		t.Errorf("crashed = %v, %v; want 1/3 from the saved values", v, ok)
	}
	if _, ok := r.CustomValue("new"); ok {
		t.Error("a metric the state lacks has a value")
	}
}

func TestWindowOldState(t *testing.T) {
	// A checkpoint written before custom metrics existed.
	type oldState struct {
		Returns []float64 `msgpack:"returns"`
		Lengths []int     `msgpack:"lengths"`
		Next    int       `msgpack:"next"`
		Total   int64     `msgpack:"total"`
	}
	b, err := msgpack.Marshal(oldState{Returns: []float64{1, 2, 3}, Lengths: []int{1, 2, 3}, Next: 1, Total: 7})
	if err != nil {
		t.Fatal(err)
	}
	var st WindowState
	if err := msgpack.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{nil, {"fuel"}} {
		w := NewEpisodeWindow(3)
		w.SetMetricNames(names)
		if err := w.SetState(st); err != nil {
			t.Fatalf("metrics %v: old state: %v", names, err)
		}
		r := fill(w)
		if r.EpisodeReturnMean != 2 || r.Episodes != 7 || r.Custom != nil {
			t.Errorf("metrics %v: old state fills %+v; want mean 2, 7 episodes, no custom metrics", names, r)
		}
		w.AddEpisode(ep(4, 8))
		if r := fill(w); len(names) > 0 && !reflect.DeepEqual(r.Custom, []Metric{{"custom/fuel", 8}}) {
			t.Errorf("after a new episode: Custom = %v; want fuel 8 from it alone", r.Custom)
		}
	}
}

func TestWindowBadState(t *testing.T) {
	w := NewEpisodeWindow(3)
	bad := []WindowState{
		{Returns: []float64{1}, Lengths: nil},
		{Returns: []float64{1, 2}, Lengths: []int{1, 2}, Next: 2},
		{Returns: []float64{1}, Lengths: []int{1}, MetricNames: []string{"a"}},
		{Returns: []float64{1}, Lengths: []int{1}, Metrics: []float64{1}},
	}
	for _, s := range bad {
		if err := w.SetState(s); err == nil {
			t.Errorf("SetState(%+v) = nil; want an error", s)
		}
	}
}

func TestMetricNames(t *testing.T) {
	if got := MetricNames([]rollout.MetricSpec{{Name: "fuel", InfoKey: "f"}, {Name: "crashed"}}); !reflect.DeepEqual(got, []string{"fuel", "crashed"}) {
		t.Errorf("MetricNames = %v", got)
	}
	if MetricNames(nil) != nil {
		t.Error("MetricNames(nil) is not nil")
	}
}

func TestCallbacksValidate(t *testing.T) {
	if err := (Callbacks{Metrics: []string{"a", "b.c"}}).Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
	for _, bad := range [][]string{{"a", "a"}, {"has space"}, {""}} {
		if err := (Callbacks{Metrics: bad}).Validate(); err == nil {
			t.Errorf("Validate(%q) = nil; want an error", bad)
		}
	}
}
