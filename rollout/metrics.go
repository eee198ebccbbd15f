package rollout

import (
	"fmt"
	"math"
	"regexp"

	"github.com/rlgo/rlgo/envs"
)

// Ways a MetricSpec aggregates an episode's values.
const (
	// MetricSum adds the value of every step of the episode.
	MetricSum = "sum"
	// MetricLast keeps the value of the episode's last step that had one.
	MetricLast = "last"
)

// MetricSpec declares a custom episode metric: the value an env puts in
// its step info under InfoKey, aggregated over each episode as Agg says.
// Its mean over the last 100 episodes appears in progress.csv as
// "custom/<Name>" beside the return (YAML: env.metrics).
type MetricSpec struct {
	// Name is the column name after "custom/" (letters, digits, _ . -).
	Name string `yaml:"name" msgpack:"name"`
	// InfoKey is the step-info key to read; default Name.
	InfoKey string `yaml:"info_key,omitempty" msgpack:"info_key"`
	// Agg is "sum" (default) or "last".
	Agg string `yaml:"agg,omitempty" msgpack:"agg"`
}

var metricName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// WithDefaults fills InfoKey and Agg.
func (m MetricSpec) WithDefaults() MetricSpec {
	if m.InfoKey == "" {
		m.InfoKey = m.Name
	}
	if m.Agg == "" {
		m.Agg = MetricSum
	}
	return m
}

// ValidateMetrics checks every spec and that names are unique.
func ValidateMetrics(specs []MetricSpec) error {
	seen := map[string]bool{}
	for i, m := range specs {
		m = m.WithDefaults()
		if !metricName.MatchString(m.Name) {
			return fmt.Errorf("metrics[%d].name: %q: want 1-64 letters, digits, '_', '.' or '-'", i, m.Name)
		}
		if seen[m.Name] {
			return fmt.Errorf("metrics[%d].name: %q is declared twice", i, m.Name)
		}
		seen[m.Name] = true
		if m.Agg != MetricSum && m.Agg != MetricLast {
			return fmt.Errorf("metrics[%d].agg: %q: want sum or last", i, m.Agg)
		}
	}
	return nil
}

// episodeMetrics accumulates the declared metrics of each env's current episode.
type episodeMetrics struct {
	specs []MetricSpec
	acc   []float64 // [env][metric]
}

func newEpisodeMetrics(specs []MetricSpec, numEnvs int) *episodeMetrics {
	m := &episodeMetrics{acc: make([]float64, numEnvs*len(specs))}
	for _, s := range specs {
		m.specs = append(m.specs, s.WithDefaults())
	}
	return m
}

// step reads env's info into its accumulators. Values may be any Go
// number or a bool (1 or 0); a missing key leaves the metric as it was.
func (m *episodeMetrics) step(env int, info envs.Info) {
	if len(m.specs) == 0 || info == nil {
		return
	}
	acc := m.acc[env*len(m.specs) : (env+1)*len(m.specs)]
	for j, s := range m.specs {
		v, ok := infoNumber(info[s.InfoKey])
		if !ok {
			continue
		}
		if s.Agg == MetricLast {
			acc[j] = v
		} else {
			acc[j] += v
		}
	}
}

// finish returns env's episode metrics and starts its next episode.
func (m *episodeMetrics) finish(env int) []float64 {
	if len(m.specs) == 0 {
		return nil
	}
	acc := m.acc[env*len(m.specs) : (env+1)*len(m.specs)]
	out := append([]float64(nil), acc...)
	clear(acc)
	return out
}

func infoNumber(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case bool:
		if x {
			f = 1
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}
