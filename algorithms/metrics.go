package algorithms

import (
	"fmt"
	"reflect"
)

// LearnerPrefix starts the name of every learner metric.
const LearnerPrefix = "learner/"

// LearnerMetrics returns the learner/<name> metrics of v, a struct (or a
// pointer to one) whose exported float64 or int fields carry a
// `metric:"name"` tag, in field order. Names travel with their values,
// so reordering or adding fields cannot mislabel a column.
func LearnerMetrics(v any) []Metric {
	rv := reflect.Indirect(reflect.ValueOf(v))
	t := rv.Type()
	var out []Metric
	for i := 0; i < t.NumField(); i++ {
		name, ok := t.Field(i).Tag.Lookup("metric")
		if !ok {
			continue
		}
		f := rv.Field(i)
		var x float64
		switch f.Kind() {
		case reflect.Float64, reflect.Float32:
			x = f.Float()
		case reflect.Int, reflect.Int64, reflect.Int32:
			x = float64(f.Int())
		default:
			panic(fmt.Sprintf("algorithms: metric field %s.%s is a %s, want a number", t.Name(), t.Field(i).Name, f.Kind()))
		}
		out = append(out, Metric{Name: LearnerPrefix + name, Value: x})
	}
	return out
}

// LearnerMetricNames returns the names LearnerMetrics gives v's fields,
// for table headers before the first iteration.
func LearnerMetricNames(v any) []string {
	var names []string
	for _, m := range LearnerMetrics(v) {
		names = append(names, m.Name)
	}
	return names
}
