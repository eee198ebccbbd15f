package tune

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// table is the live table of trials: redrawn in place on a terminal,
// else one line per trial whose status or iteration changed.
type table struct {
	w       io.Writer
	tty     bool
	metric  string
	lines   int               // lines drawn last time (tty)
	printed map[int]string    // last status printed per trial (not tty)
	at      map[int]time.Time // when a trial's last line was printed (not tty)
	now     func() time.Time
}

// lineEvery is how often a running trial's progress is printed when
// stdout is not a terminal (a status change always is).
const lineEvery = 5 * time.Second

func params(t *TrialState) string {
	var parts []string
	for _, p := range t.Params {
		parts = append(parts, p.Key+"="+p.Value)
	}
	return strings.Join(parts, " ")
}

func metricText(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}

func statusText(t *TrialState) string {
	if t.Status == StatusStoppedEarly {
		return fmt.Sprintf("%s@%d", t.Status, t.StoppedAtRung)
	}
	return t.Status
}

func (tb *table) render(exp *Experiment) {
	if !tb.tty {
		for _, t := range exp.Trials {
			now := tb.now()
			if t.Status == StatusPending || tb.printed[t.ID] == t.Status && now.Sub(tb.at[t.ID]) < lineEvery {
				continue
			}
			tb.printed[t.ID], tb.at[t.ID] = t.Status, now
			line := fmt.Sprintf("%s  %s  %s  iter %d  env_steps %d  %s %s", t.Name, params(t), statusText(t), t.Iteration, t.EnvSteps, tb.metric, metricText(t.Final))
			if t.Error != "" {
				line += "  error: " + t.Error
			}
			fmt.Fprintln(tb.w, line)
		}
		return
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TRIAL\tPARAMETERS\tSTATUS\tITER\tENV STEPS\t%s\n", strings.ToUpper(tb.metric))
	for _, t := range exp.Trials {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", t.Name, params(t), statusText(t), t.Iteration, t.EnvSteps, metricText(t.Final))
	}
	n := exp.Count()
	fmt.Fprintf(tw, "%d trials: %d running, %d pending, %d finished, %d stopped early, %d failed, %d interrupted\n", len(exp.Trials),
		n[StatusRunning], n[StatusPending], n[StatusFinished], n[StatusStoppedEarly], n[StatusFailed], n[StatusInterrupted])
	tw.Flush()
	out := b.String()
	if tb.lines > 0 {
		fmt.Fprintf(tb.w, "\x1b[%dA", tb.lines) // back to the table's first line
	}
	for _, line := range strings.SplitAfter(out, "\n") {
		if line != "" {
			fmt.Fprint(tb.w, "\x1b[2K"+line) // clear, then draw
		}
	}
	tb.lines = strings.Count(out, "\n")
}

func (tb *table) done() {
	if tb.tty {
		tb.lines = 0
	}
}
