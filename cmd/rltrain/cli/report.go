package cli

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/train/report"
)

// newReport is `rltrain report RUN_DIR... [--out DIR]`: learning curves
// of one or more runs, seeds of one config grouped into a band.
func newReport(stdout, stderr io.Writer) *cobra.Command {
	var out, title string
	c := &cobra.Command{
		Use:   "report RUN_DIR...",
		Short: "Draw learning curves (PNG, SVG, HTML, Markdown) of one or more runs",
		Long: `Draw the learning curves of one or more run directories: episode return
against env steps and against wall time, learner panels (losses, entropy,
KL, explained variance, throughput), as PNG and SVG, one self-contained
HTML page (report.html) and a Markdown summary (summary.md).

Runs whose config.yaml differ only in seed are one group: a mean ± std
band with each seed's own thin line. Several configs share the axes:

  rltrain report runs/cartpole-ppo-* runs/cartpole-ppo-lr3e-4-*

A directory that is not itself a run directory stands for the run
directories directly inside it (rltrain report runs).

The report goes to --out; by default RUN_DIR/report for one run, and
reports/report-<YYYYmmdd-HHMMSS> for several.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(args, out, title, stdout, stderr, time.Now)
		},
	}
	c.Flags().StringVar(&out, "out", "", "report directory (default RUN_DIR/report for one run, reports/report-<time> for several)")
	c.Flags().StringVar(&title, "title", "", `title of the page and summary (default "Learning curves")`)
	return c
}

// runReport writes the report. Runs or rows that cannot be read are
// left out with a warning on stderr each; the exit code is non-zero only
// when nothing could be drawn.
func runReport(args []string, out, title string, stdout, stderr io.Writer, now func() time.Time) error {
	dirs, err := report.Expand(args)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if out == "" {
		if len(dirs) == 1 {
			out = filepath.Join(dirs[0], report.Dir)
		} else {
			out = filepath.Join("reports", "report-"+now().Format("20060102-150405"))
		}
	}
	res, err := report.Generate(dirs, report.Options{Out: out, Title: title, Now: now})
	if err != nil {
		if errors.Is(err, report.ErrNotRunDir) {
			return &exitError{code: ExitUsage, err: err}
		}
		return &exitError{code: ExitError, err: err}
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "rltrain report: warning:", w)
	}
	for _, g := range res.Groups {
		fmt.Fprintf(stdout, "group %s: %d run(s)\n", g.Label, len(g.Runs))
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(res.Dir, report.HTMLFile))
	fmt.Fprintf(stdout, "summary: %s\n", filepath.Join(res.Dir, report.MarkdownFile))
	if !res.Drawn {
		return &exitError{code: ExitError, err: errors.New("nothing could be drawn: no run has a readable progress row")}
	}
	return nil
}
