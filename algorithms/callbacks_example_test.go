package algorithms_test

import (
	"fmt"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/rollout"
)

// A callback counts long episodes and reports their share beside the
// env's declared metric custom/fuel. The runner calls cb.Call itself
// (runner.Options.Callbacks); here an algorithm's window stands in.
func ExampleCallbacks() {
	long, seen := 0, 0
	cb := algorithms.Callbacks{
		Metrics: []string{"long_share"}, // the column custom/long_share
		OnEpisodeEnd: func(ep rollout.EpisodeStats) {
			seen++
			if ep.Length >= 100 {
				long++
			}
			fmt.Printf("episode: return %g, fuel %g\n", ep.Return, ep.Metrics[0])
		},
		OnIterationEnd: func(r *algorithms.Result) {
			r.AddCustom("long_share", float64(long)/float64(seen))
		},
	}
	if err := cb.Validate(); err != nil {
		panic(err)
	}

	// What PPO and DQN do each iteration with env.metrics [{name: fuel}].
	w := algorithms.NewEpisodeWindow(100)
	w.SetMetricNames([]string{"fuel"})
	w.AddBatches([]*rollout.SampleBatch{{Episodes: []rollout.EpisodeStats{
		{Return: 120, Length: 120, Metrics: []float64{3.5}},
		{Return: 40, Length: 40, Metrics: []float64{1.5}},
	}}})
	var r algorithms.Result
	w.Fill(&r)

	cb.Call(&r)
	for _, m := range r.Custom {
		fmt.Printf("%s = %g\n", m.Name, m.Value)
	}
	// Output:
	// episode: return 120, fuel 3.5
	// episode: return 40, fuel 1.5
	// custom/fuel = 2.5
	// custom/long_share = 0.5
}
