package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// DPI is the resolution of the PNGs: a figure of W inches is W×DPI pixels.
const DPI = 96

// Figure sizes, in pixels of the PNG (and points×4/3 of the SVG).
const (
	ReturnWidthPx, ReturnHeightPx = 960, 600
	PanelWidthPx, PanelHeightPx   = 380, 270
	PanelColumns                  = 3
)

func px(n int) vg.Length { return vg.Length(n) * vg.Inch / DPI }

// palette is matplotlib's tab10, which reads well on white and to most
// colour-blind readers.
var palette = []color.NRGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
	{0x17, 0xbe, 0xcf, 0xff},
}

func groupColor(i int, alpha uint8) color.NRGBA {
	c := palette[i%len(palette)]
	c.A = alpha
	return c
}

// figure is one image of the report: a grid of plots drawn into one canvas.
type figure struct {
	name     string // file name without extension
	title    string
	plots    [][]*plot.Plot
	widthPx  int
	heightPx int
}

// render draws f as PNG and SVG bytes.
func (f *figure) render() (pngData, svgData []byte, err error) {
	w, h := px(f.widthPx), px(f.heightPx)
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	f.draw(draw.New(img))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("%s.png: %w", f.name, err)
	}
	sc := vgsvg.New(w, h)
	f.draw(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("%s.svg: %w", f.name, err)
	}
	return pb.Bytes(), sb.Bytes(), nil
}

func (f *figure) draw(dc draw.Canvas) {
	rows := len(f.plots)
	cols := 0
	for _, r := range f.plots {
		cols = max(cols, len(r))
	}
	grid := make([][]*plot.Plot, rows)
	for i, r := range f.plots {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], r)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(6), PadY: vg.Points(6),
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// siTicks puts about six labelled ticks at round values (1, 2, 2.5 or 5
// times a power of ten) and labels large numbers as 100k, 1.5M.
type siTicks struct{}

func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ts = append(ts, plot.Tick{Value: v, Label: si(v)})
	}
	return ts
}

func si(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 4, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// curveStyle says how a metric is drawn against an x column.
type curveStyle struct {
	x, y       string
	xLabel     string
	title      string
	thresholds bool // draw each group's threshold
	legend     bool
	fontScale  float64
}

// curvePlot draws every group's band, mean line and per-seed lines of
// y against x on one pair of axes; it returns nil if no run has y.
func curvePlot(groups []*Group, st curveStyle) *plot.Plot {
	p := plot.New()
	p.Title.Text = st.title
	p.X.Label.Text = st.xLabel
	p.Y.Label.Text = st.y
	p.X.Tick.Marker = siTicks{}
	p.Y.Tick.Marker = siTicks{}
	if st.fontScale != 0 {
		scaleFonts(p, st.fontScale)
	}
	p.Add(plotter.NewGrid())
	drawn := false
	var seedEntry *plotter.Line // the legend's sample of a thin line
	for gi, g := range groups {
		// Per-seed thin lines, under the band.
		for _, r := range g.Runs {
			xs, ys := r.Series(st.x, st.y)
			if len(xs) == 0 {
				continue
			}
			drawn = true
			l, err := plotter.NewLine(xyPairs(xs, ys))
			if err != nil {
				continue
			}
			l.Color = groupColor(gi, 0x70)
			l.Width = vg.Points(0.8)
			if len(g.Runs) == 1 {
				l.Color, l.Width = groupColor(gi, 0xff), vg.Points(2)
				if st.legend {
					p.Legend.Add(fmt.Sprintf("%s (seed %s)", g.Label, r.Seed), l)
				}
			} else if seedEntry == nil {
				thin := *l
				thin.Color = color.NRGBA{0x60, 0x60, 0x60, 0xa0}
				seedEntry = &thin
			}
			p.Add(l)
		}
		if len(g.Runs) < 2 {
			continue
		}
		b, ok := GroupBand(g, st.x, st.y)
		if !ok {
			continue
		}
		upper := make(plotter.XYs, 0, 2*len(b.X))
		for i := range b.X {
			upper = append(upper, plotter.XY{X: b.X[i], Y: b.Mean[i] + b.Std[i]})
		}
		for i := len(b.X) - 1; i >= 0; i-- {
			upper = append(upper, plotter.XY{X: b.X[i], Y: b.Mean[i] - b.Std[i]})
		}
		poly, err := plotter.NewPolygon(upper)
		if err != nil {
			continue
		}
		poly.Color = groupColor(gi, 0x48)
		poly.LineStyle.Width = 0
		mean, err := plotter.NewLine(xyPairs(b.X, b.Mean))
		if err != nil {
			continue
		}
		mean.Color, mean.Width = groupColor(gi, 0xff), vg.Points(2.2)
		p.Add(poly, mean)
		if st.legend {
			text := fmt.Sprintf("%s: mean ± std of %d seeds", g.Label, b.N)
			if b.Carried > 0 {
				text += " (finished seeds' last value carried forward)"
			}
			p.Legend.Add(text, mean, poly)
		}
	}
	if !drawn {
		return nil
	}
	if st.legend && seedEntry != nil {
		p.Legend.Add("each seed (thin lines)", seedEntry)
	}
	if st.thresholds {
		addThresholds(p, groups, st.legend)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), vg.Points(6)
	p.Legend.ThumbnailWidth = vg.Points(22)
	return p
}

// addThresholds draws each distinct threshold once, dashed, and makes
// sure the y axis reaches it.
func addThresholds(p *plot.Plot, groups []*Group, legend bool) {
	seen := map[string]bool{}
	for _, g := range groups {
		if !g.HasThreshold {
			continue
		}
		key := fmt.Sprint(g.Threshold)
		if seen[key] {
			continue
		}
		seen[key] = true
		thr := g.Threshold
		f := plotter.NewFunction(func(float64) float64 { return thr })
		f.Color = color.NRGBA{0x20, 0x20, 0x20, 0xff}
		f.Width = vg.Points(1.3)
		f.Dashes = []vg.Length{vg.Points(7), vg.Points(4)}
		p.Add(f)
		if legend {
			p.Legend.Add(fmt.Sprintf("%s (%s)", g.ThresholdFrom, si(thr)), f)
		}
		span := math.Max(math.Abs(p.Y.Max-p.Y.Min), math.Abs(thr)*0.05)
		p.Y.Max = math.Max(p.Y.Max, thr+0.04*span)
		p.Y.Min = math.Min(p.Y.Min, thr-0.04*span)
	}
}

func scaleFonts(p *plot.Plot, s float64) {
	sc := func(l *vg.Length) { *l = vg.Length(float64(*l) * s) }
	sc(&p.Title.TextStyle.Font.Size)
	sc(&p.X.Label.TextStyle.Font.Size)
	sc(&p.Y.Label.TextStyle.Font.Size)
	sc(&p.X.Tick.Label.Font.Size)
	sc(&p.Y.Tick.Label.Font.Size)
}

func xyPairs(xs, ys []float64) plotter.XYs {
	out := make(plotter.XYs, len(xs))
	for i := range xs {
		out[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	return out
}

// emptyPlot is a plot saying there is nothing to draw yet.
func emptyPlot(title, why string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title + " — " + why
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p
}

// returnFigure is episode_return_mean against x for every group.
func returnFigure(groups []*Group, name, x, xLabel, title string) *figure {
	p := curvePlot(groups, curveStyle{x: x, y: "episode_return_mean", xLabel: xLabel, title: title, thresholds: true, legend: true})
	if p == nil {
		p = emptyPlot(title, "no completed episodes yet")
	}
	return &figure{name: name, title: title, plots: [][]*plot.Plot{{p}}, widthPx: ReturnWidthPx, heightPx: ReturnHeightPx}
}

// panelMetrics are the learner/* and custom/* columns present in any run,
// in the first run's column order, then throughput.
func panelMetrics(groups []*Group) []string {
	var names []string
	seen := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.Runs {
			for _, c := range r.Columns {
				if (strings.HasPrefix(c, "learner/") || strings.HasPrefix(c, "custom/")) && !seen[c] {
					seen[c] = true
					names = append(names, c)
				}
			}
		}
	}
	for _, extra := range []string{"env_steps_per_s", "episode_len_mean"} {
		for _, g := range groups {
			if !seen[extra] && g.Runs[0].Has(extra) {
				seen[extra] = true
				names = append(names, extra)
			}
		}
	}
	return names
}

// learnerFigure draws one panel per learner metric (losses, entropy, KL,
// clip fraction, explained variance, …) and throughput, against env
// steps, with the same bands as the return.
func learnerFigure(groups []*Group) *figure {
	var cells []*plot.Plot
	for _, m := range panelMetrics(groups) {
		if constant(groups, m) {
			continue // learner/epochs: nothing to see
		}
		if p := curvePlot(groups, curveStyle{x: "env_steps", y: m, xLabel: "env steps", title: m, fontScale: 0.85}); p != nil {
			p.Y.Label.Text = ""
			cells = append(cells, p)
		}
	}
	if len(cells) == 0 {
		cells = append(cells, emptyPlot("learner metrics", "none recorded yet"))
	} else {
		cells = append(cells, legendPlot(groups))
	}
	var grid [][]*plot.Plot
	for i := 0; i < len(cells); i += PanelColumns {
		grid = append(grid, cells[i:min(i+PanelColumns, len(cells))])
	}
	return &figure{name: "learner", title: "Learner metrics and throughput against env steps (legend in the last panel)", plots: grid,
		widthPx: PanelWidthPx * PanelColumns, heightPx: PanelHeightPx * len(grid)}
}

// legendPlot is a panel holding only the legend of the learner panels:
// each group's colour (its mean line and band, or its one run's line)
// and the thin per-seed lines.
func legendPlot(groups []*Group) *plot.Plot {
	p := plot.New()
	p.Title.Text = "legend"
	scaleFonts(p, 0.85)
	p.HideAxes()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	thinShown := false
	for gi, g := range groups {
		l := &plotter.Line{}
		l.Color, l.Width = groupColor(gi, 0xff), vg.Points(2.2)
		if len(g.Seeds()) < 2 {
			p.Legend.Add(fmt.Sprintf("%s (seed %s)", g.Label, g.Runs[0].Seed), l)
			continue
		}
		band := &plotter.Polygon{}
		band.Color = groupColor(gi, 0x48)
		p.Legend.Add(fmt.Sprintf("%s: mean ± std of %d seeds", g.Label, len(g.Seeds())), l, band)
		thinShown = true
	}
	if thinShown {
		thin := &plotter.Line{}
		thin.Color, thin.Width = color.NRGBA{0x60, 0x60, 0x60, 0xa0}, vg.Points(0.8)
		p.Legend.Add("each seed (thin lines)", thin)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.TextStyle.Font.Size = vg.Length(float64(p.Legend.TextStyle.Font.Size) * 0.9)
	return p
}

// constant reports whether metric m has one value in every row of every run.
func constant(groups []*Group, m string) bool {
	first, seen := 0.0, false
	for _, g := range groups {
		for _, r := range g.Runs {
			_, ys := r.Series("env_steps", m)
			for _, y := range ys {
				if seen && y != first {
					return false
				}
				first, seen = y, true
			}
		}
	}
	return true
}
