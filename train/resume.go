package train

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
)

// What resume does with each stop criterion (README "Resuming a run"):
// the resumed run is judged by the stop criteria of its new config from
// the checkpoint on. A budget (env_steps, iterations, time_s) that the
// checkpoint has already spent, or a return target it has already
// reached, would end the run after one more iteration, so Run refuses
// to resume and says which --set goes on: a larger budget, or for a
// reached target, lifting it (stop.episode_return_mean=null) or raising
// it. Targets are never lifted silently: reaching one is what the run
// was for.

// resumeCheck returns a *config.Error when the checkpoint ck already
// meets a stop criterion of stop: its progress.csv row (or, without
// one, its metadata) is where the resumed run would start.
func resumeCheck(dir string, stop config.StopConfig, ck *checkpoint.Checkpoint) error {
	r, ok := progressRow(dir, ck.Meta.Iteration)
	if !ok {
		r = algorithms.Result{Iteration: ck.Meta.Iteration, EnvSteps: ck.Meta.EnvSteps, Episodes: ck.Meta.Episodes}
	}
	reason := stopReason(stop, r)
	if reason == "" {
		return nil
	}
	return &config.Error{Key: "stop." + reason, Msg: fmt.Sprintf("checkpoint %s (iteration %d) %s; %s",
		filepath.Base(ck.Key), r.Iteration, metText(reason, stop, r), ContinueHint(reason, stop, r))}
}

// metText says how r meets the criterion reason.
func metText(reason string, s config.StopConfig, r algorithms.Result) string {
	switch reason {
	case "episode_return_mean":
		return fmt.Sprintf("already reached the return target: episode_return_mean %s >= %s", sig(r.EpisodeReturnMean), sig(*s.EpisodeReturnMean))
	case "evaluation_return_mean":
		return fmt.Sprintf("already reached the evaluation target: evaluation_return_mean %s >= %s", sig(r.EvaluationReturnMean), sig(*s.EvaluationReturnMean))
	case "env_steps":
		return fmt.Sprintf("has already spent the budget of %d env steps (%d)", s.EnvSteps, r.EnvSteps)
	case "iterations":
		return fmt.Sprintf("has already spent the budget of %d iterations", s.Iterations)
	case "time_s":
		return fmt.Sprintf("has already spent the budget of %s s (%s s)", sig(s.TimeS), sig(r.TimeS))
	}
	return "met " + reason
}

// ContinueHint says which --set continues a run that criterion reason
// stopped at r: a larger budget, or lifting a reached target.
func ContinueHint(reason string, s config.StopConfig, r algorithms.Result) string {
	switch reason {
	case "episode_return_mean":
		return "to train on, lift the target with --set stop.episode_return_mean=null (or raise it), and extend the budget if it is spent"
	case "evaluation_return_mean":
		return "to train on, lift the target with --set stop.evaluation_return_mean=null (or raise it), and extend the budget if it is spent"
	case "env_steps":
		return fmt.Sprintf("to train on, extend it, e.g. --set stop.env_steps=%d", 2*max(r.EnvSteps, s.EnvSteps))
	case "iterations":
		return fmt.Sprintf("to train on, extend it, e.g. --set stop.iterations=%d", 2*max(r.Iteration, s.Iterations))
	case "time_s":
		return fmt.Sprintf("to train on, extend it, e.g. --set stop.time_s=%s", sig(2*math.Max(r.TimeS, s.TimeS)))
	}
	return "to train on, change the stop criteria with --set stop.KEY=VALUE"
}

// progressRow reads the row of iteration it from dir's progress.csv.
func progressRow(dir string, it int) (algorithms.Result, bool) {
	data, err := os.ReadFile(filepath.Join(dir, "progress.csv"))
	if err != nil {
		return algorithms.Result{}, false
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	rows, _ := cr.ReadAll()
	if len(rows) < 2 {
		return algorithms.Result{}, false
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) || row[0] != strconv.Itoa(it) {
			continue
		}
		get := func(name string) (float64, bool) {
			i, ok := col[name]
			if !ok || row[i] == "" {
				return 0, false
			}
			v, err := strconv.ParseFloat(row[i], 64)
			return v, err == nil
		}
		r := algorithms.Result{Iteration: it}
		if v, ok := get("env_steps"); ok {
			r.EnvSteps = int64(v)
		}
		if v, ok := get("episodes"); ok {
			r.Episodes = int64(v)
		}
		if v, ok := get("time_s"); ok {
			r.TimeS = v
		}
		r.EpisodeReturnMean, r.HasEpisodes = get("episode_return_mean")
		r.EvaluationReturnMean, r.HasEvaluation = get("evaluation_return_mean")
		return r, true
	}
	return algorithms.Result{}, false
}

// sig formats v with 4 significant digits, without an exponent for
// ordinary magnitudes: 0.842, 475.3, -1234, 1.5e-05.
func sig(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a != 0 && a < 1e-3:
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
