package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rlgo/rlgo/algorithms"
)

// Options configure Generate.
type Options struct {
	// Out is the directory the report is written into (created).
	Out string
	// Title heads the HTML page and the Markdown summary; default
	// "Learning curves".
	Title string
	// Now stamps the report; nil means time.Now.
	Now func() time.Time
}

// Output is what Generate wrote.
type Output struct {
	// Dir is the report directory.
	Dir string
	// Files are the paths written: for each figure a .png and a .svg,
	// then report.html and summary.md.
	Files []string
	// Groups are the runs as grouped and labelled in the report.
	Groups []*Group
	// Warnings say what was left out, per run and file: runs that could
	// not be read, progress.csv rows that could not be, seeds run twice.
	Warnings []string
	// Drawn reports that some run had a row to draw; false means the
	// figures only say there is nothing yet.
	Drawn bool
}

// File names in the report directory.
const (
	HTMLFile     = "report.html"
	MarkdownFile = "summary.md"
)

// Generate reads the run directories, groups them by config and writes
// the report into opts.Out.
func Generate(runDirs []string, opts Options) (*Output, error) {
	if len(runDirs) == 0 {
		return nil, fmt.Errorf("report: no run directories")
	}
	if opts.Out == "" {
		return nil, fmt.Errorf("report: no output directory")
	}
	if opts.Title == "" {
		opts.Title = "Learning curves"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var runs []*Run
	var warnings []string
	var loadErrs []error
	for _, d := range runDirs {
		r, err := LoadRun(d)
		if err != nil {
			// One bad run does not stop the others' report.
			warnings = append(warnings, fmt.Sprintf("%v: run left out of the report", err))
			loadErrs = append(loadErrs, err)
			continue
		}
		warnings = append(warnings, r.Warnings...)
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("report: no run could be read: %w", errors.Join(loadErrs...))
	}
	groups := GroupRuns(runs)
	for _, g := range groups {
		for _, seed := range g.Repeated {
			var dirs []string
			for _, r := range g.Runs {
				if r.Seed == seed {
					dirs = append(dirs, r.Dir)
				}
			}
			warnings = append(warnings, fmt.Sprintf("%s: seed %s was run %d times (%s); they count as one seed in the band, their mean",
				g.Label, seed, len(dirs), strings.Join(dirs, ", ")))
		}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	out := &Output{Dir: opts.Out, Groups: groups, Warnings: warnings}
	for _, r := range runs {
		out.Drawn = out.Drawn || len(r.Rows) > 0
	}

	figs := []*figure{
		returnFigure(groups, "return_steps", "env_steps", "env steps", "Episode return (mean of last 100 training episodes) vs env steps"),
		returnFigure(groups, "return_time", "time_s", "wall time (s)", "Episode return (mean of last 100 training episodes) vs wall time"),
		learnerFigure(groups),
	}
	var images []pageImage
	for _, f := range figs {
		pngData, svgData, err := f.render()
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		for _, file := range []struct {
			ext  string
			data []byte
		}{{".png", pngData}, {".svg", svgData}} {
			path := filepath.Join(opts.Out, f.name+file.ext)
			if err := writeFile(path, file.data); err != nil {
				return nil, err
			}
			out.Files = append(out.Files, path)
		}
		images = append(images, pageImage{Name: f.name, Title: f.title, Img: template.HTML(fmt.Sprintf(
			`<img src="data:image/png;base64,%s" alt="%s">`, base64.StdEncoding.EncodeToString(pngData), html.EscapeString(f.title)))})
	}

	s := summarize(groups)
	s.notes = append(s.notes, warnings...)
	var md bytes.Buffer
	writeMarkdown(&md, opts.Title, opts.Now(), figs, s)
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, pageData{Title: opts.Title, Generated: opts.Now().Format(time.RFC3339),
		Images: images, Notes: s.notes, Tables: s.tables()}); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{HTMLFile, page.Bytes()}, {MarkdownFile, md.Bytes()}} {
		path := filepath.Join(opts.Out, f.name)
		if err := writeFile(path, f.data); err != nil {
			return nil, err
		}
		out.Files = append(out.Files, path)
	}
	return out, nil
}

// writeFile replaces path atomically, so a reader never sees half a report.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// table is a table of the summary, rendered as Markdown and HTML.
type table struct {
	Title  string
	Header []string
	Rows   [][]cell
}

type cell struct {
	Text   string
	Strong bool // differs between groups (config table)
}

type summary struct {
	groups, runs, config table
	notes                []string
}

func (s summary) tables() []table { return []table{s.groups, s.runs, s.config} }

func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func meanStdText(v []float64, prec int) string {
	var ok []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			ok = append(ok, x)
		}
	}
	if len(ok) == 0 {
		return "–"
	}
	m, s := meanStd(ok)
	if len(ok) == 1 {
		return num(m, prec)
	}
	return num(m, prec) + " ± " + num(s, prec)
}

func summarize(groups []*Group) summary {
	s := summary{
		groups: table{Title: "Groups (runs of one config, different seeds)", Header: []string{
			"group", "seeds", "threshold", "final return", "best return", "reached threshold", "env steps to threshold", "time to threshold (s)"}},
		runs: table{Title: "Runs", Header: []string{
			"run", "group", "seed", "status", "iterations", "env steps", "time (s)", "final return", "best return", "env steps to threshold", "time to threshold (s)"}},
		config: table{Title: "Config (keys that differ between groups in bold)", Header: []string{"key"}},
	}
	for _, g := range groups {
		var finals, bests, steps, secs []float64
		reached := 0
		for _, r := range g.Runs {
			st := Stats(r, g.Threshold, g.HasThreshold)
			finals, bests = append(finals, st.Final), append(bests, st.Best)
			steps, secs = append(steps, st.StepsToThreshold), append(secs, st.TimeToThreshold)
			if !math.IsNaN(st.StepsToThreshold) || !math.IsNaN(st.TimeToThreshold) {
				reached++
			}
			s.runs.Rows = append(s.runs.Rows, []cell{{Text: r.Dir}, {Text: g.Label}, {Text: r.Seed}, {Text: st.Status},
				{Text: fmt.Sprint(st.Iterations)}, {Text: num(st.EnvSteps, 0)}, {Text: num(st.TimeS, 1)},
				{Text: num(st.Final, 1)}, {Text: num(st.Best, 1)}, {Text: num(st.StepsToThreshold, 0)}, {Text: num(st.TimeToThreshold, 1)}})
		}
		thr, reachedText := "–", "–"
		if g.HasThreshold {
			thr = fmt.Sprintf("%g (%s)", g.Threshold, g.ThresholdFrom)
			reachedText = fmt.Sprintf("%d of %d", reached, len(g.Runs))
		}
		toThr := func(v []float64, prec int) string {
			t := meanStdText(v, prec)
			if t != "–" && reached < len(g.Runs) {
				t += fmt.Sprintf(" (the %d that reached it)", reached)
			}
			return t
		}
		var seeds []string
		for _, seed := range g.Seeds() {
			n := 0
			for _, r := range g.Runs {
				if r.Seed == seed {
					n++
				}
			}
			if n > 1 {
				seed += fmt.Sprintf(" (×%d)", n)
			}
			seeds = append(seeds, seed)
		}
		s.groups.Rows = append(s.groups.Rows, []cell{{Text: g.Label}, {Text: strings.Join(seeds, ", ")}, {Text: thr},
			{Text: meanStdText(finals, 1)}, {Text: meanStdText(bests, 1)}, {Text: reachedText},
			{Text: toThr(steps, 0)}, {Text: toThr(secs, 1)}})
		s.notes = append(s.notes, bandNote(g))
	}
	s.notes = append(s.notes, "Returns are episode_return_mean: the mean return of the last 100 completed training episodes (stochastic policy). "+
		"“final” is the last value, “best” the largest; ± is the sample standard deviation over a group's seeds.")

	// Config: one column per group, one row per key (seed left out: it is
	// what varies within a group).
	var keys []string
	seenKey := map[string]bool{}
	for _, g := range groups {
		s.config.Header = append(s.config.Header, g.Label)
		for _, h := range g.Runs[0].Config {
			if h.Name != "seed" && !seenKey[h.Name] && !otherAlgorithm(h.Name, g.Runs[0].Algorithm) {
				seenKey[h.Name] = true
				keys = append(keys, h.Name)
			}
		}
	}
	for _, k := range keys {
		row := []cell{{Text: k}}
		var vals []string
		for _, g := range groups {
			v, ok := g.Runs[0].ConfigValue(k)
			t := "–"
			if ok {
				t = fmt.Sprint(v)
			}
			vals = append(vals, t)
		}
		differ := false
		for _, v := range vals[1:] {
			differ = differ || v != vals[0]
		}
		row[0].Strong = differ
		for _, v := range vals {
			row = append(row, cell{Text: v, Strong: differ})
		}
		s.config.Rows = append(s.config.Rows, row)
	}
	return s
}

// bandNote says honestly what a group's band covers.
func bandNote(g *Group) string {
	if len(g.Runs) < 2 {
		return fmt.Sprintf("%s: one run (seed %s), drawn as its own line; no band.", g.Label, g.Runs[0].Seed)
	}
	if len(g.Seeds()) < 2 {
		return fmt.Sprintf("%s: %d runs of one seed (%s), each drawn as its own line; no band (a band needs two seeds).", g.Label, len(g.Runs), g.Runs[0].Seed)
	}
	b, ok := GroupBand(g, "env_steps", "episode_return_mean")
	if !ok {
		return fmt.Sprintf("%s: %d seeds, but their episode returns do not overlap in env steps; no band, only each seed's line.", g.Label, len(g.Seeds()))
	}
	last := 0.0
	for _, r := range g.Runs {
		if xs, _ := r.Series("env_steps", "episode_return_mean"); len(xs) > 0 {
			last = math.Max(last, xs[len(xs)-1])
		}
	}
	note := fmt.Sprintf("%s: band = mean ± sample std over %d seeds, each interpolated linearly onto %d points from %s to %s env steps",
		g.Label, b.N, len(b.X), si(b.X[0]), si(b.X[len(b.X)-1]))
	if b.Carried > 0 {
		note += fmt.Sprintf("; %d finished seed(s) ended earlier (at their stop target or budget) and their last value is carried forward to the end", b.Carried)
	} else {
		note += ", where every seed has data"
	}
	if last > b.X[len(b.X)-1] {
		note += fmt.Sprintf("; runs that went on past a run that has not finished (up to %s env steps) are shown only by their own thin lines", si(last))
	}
	return note + "."
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func writeMarkdown(b *bytes.Buffer, title string, now time.Time, figs []*figure, s summary) {
	fmt.Fprintf(b, "# %s\n\nGenerated %s by `rltrain report`.\n\n", title, now.Format(time.RFC3339))
	for _, f := range figs {
		fmt.Fprintf(b, "![%s](%s.png)\n\n", f.title, f.name)
	}
	for _, n := range s.notes {
		fmt.Fprintf(b, "- %s\n", mdEscape(n))
	}
	b.WriteString("\n")
	for _, t := range s.tables() {
		fmt.Fprintf(b, "## %s\n\n|", t.Title)
		for _, h := range t.Header {
			fmt.Fprintf(b, " %s |", mdEscape(h))
		}
		b.WriteString("\n|")
		for range t.Header {
			b.WriteString(" --- |")
		}
		b.WriteString("\n")
		for _, row := range t.Rows {
			b.WriteString("|")
			for _, c := range row {
				text := mdEscape(c.Text)
				if c.Strong {
					text = "**" + text + "**"
				}
				fmt.Fprintf(b, " %s |", text)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

type pageImage struct {
	Name, Title string
	// Img is the <img> element, its PNG inline as a data: URI (built by
	// hand: html/template would escape base64's '+' as an entity).
	Img template.HTML
}

type pageData struct {
	Title, Generated string
	Images           []pageImage
	Notes            []string
	Tables           []table
}

// pageTemplate is the self-contained HTML page: styles inline, images as
// data: URIs, no script and no other reference.
var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
figure { margin: 1.5em 0; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.diff { font-weight: bold; background: #fff6d5; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Generated {{.Generated}} by <code>rltrain report</code>.</p>
{{range .Images}}<figure id="{{.Name}}">
{{.Img}}
<figcaption>{{.Title}}</figcaption>
</figure>
{{end}}<ul>
{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>
{{range .Tables}}<h2>{{.Title}}</h2>
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td{{if .Strong}} class="diff"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{end}}</body>
</html>
`))

// otherAlgorithm reports whether key is in another registered
// algorithm's section (dqn.* of a PPO run, in config.yaml files written
// before a config held only its own algorithm's section): defaults that
// the run never used.
func otherAlgorithm(key, algorithm string) bool {
	section, _, ok := strings.Cut(key, ".")
	if !ok || section == algorithm {
		return false
	}
	_, err := algorithms.Lookup(section)
	return err == nil
}
