package tune

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ParCoordsName is the parallel-coordinates figure's file name in the
// report directory, without its extension (.png and .svg).
const ParCoordsName = "parcoords"

// Parallel-coordinates figure size: 10 × 5 inches, 960 × 480 pixels at
// the PNG's 96 dpi.
const (
	parCoordsWidth  = 10 * vg.Inch
	parCoordsHeight = 5 * vg.Inch
)

// Axis scales of the parallel-coordinates figure.
const (
	axisCategorical = "categorical"
	axisLinear      = "linear"
	axisLog         = "log"
)

// pcAxis is one vertical axis of the parallel-coordinates figure: a
// tuned key, or the metric. Values map to [0, 1] from bottom to top.
type pcAxis struct {
	key   string
	scale string
	// cats are a categorical axis's values, bottom to top.
	cats []string
	// lo and hi bound a linear or log axis.
	lo, hi float64
}

// pos returns where value v lies on the axis, in [0, 1]; false when it
// is not a value of the axis (not a number on a numeric one, not one of
// a categorical one's values).
func (a pcAxis) pos(v string) (float64, bool) {
	if a.scale == axisCategorical {
		i := indexOf(a.cats, v)
		if i < 0 {
			return 0, false
		}
		if len(a.cats) == 1 {
			return 0.5, true
		}
		return float64(i) / float64(len(a.cats)-1), true
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return a.posNum(x)
}

// posNum is pos of a number on a linear or log axis, clamped to [0, 1].
func (a pcAxis) posNum(x float64) (float64, bool) {
	if math.IsNaN(x) || a.scale == axisLog && x <= 0 {
		return 0, false
	}
	lo, hi := a.lo, a.hi
	if a.scale == axisLog {
		x, lo, hi = math.Log(x), math.Log(lo), math.Log(hi)
	}
	if !(hi > lo) {
		return 0.5, true
	}
	return math.Min(math.Max((x-lo)/(hi-lo), 0), 1), true
}

// ticks returns the axis's labelled positions.
func (a pcAxis) ticks() []plotter.XY {
	var ts []plotter.XY
	switch {
	case a.scale == axisCategorical:
		for i := range a.cats {
			p, _ := a.pos(a.cats[i])
			ts = append(ts, plotter.XY{X: float64(i), Y: p})
		}
	case !(a.hi > a.lo):
		ts = append(ts, plotter.XY{X: a.lo, Y: 0.5})
	case a.scale == axisLog:
		// The bounds and the powers of ten between them.
		ts = append(ts, plotter.XY{X: a.lo, Y: 0})
		for e := math.Ceil(math.Log10(a.lo)); math.Pow(10, e) < a.hi; e++ {
			v := math.Pow(10, e)
			if p, _ := a.posNum(v); p > 0.04 && p < 0.96 {
				ts = append(ts, plotter.XY{X: v, Y: p})
			}
		}
		ts = append(ts, plotter.XY{X: a.hi, Y: 1})
	default:
		for i := 0; i <= 4; i++ {
			ts = append(ts, plotter.XY{X: a.lo + (a.hi-a.lo)*float64(i)/4, Y: float64(i) / 4})
		}
	}
	return ts
}

// tickLabel is the text of tick t (as returned by ticks).
func (a pcAxis) tickLabel(t plotter.XY) string {
	if a.scale == axisCategorical {
		return a.cats[int(t.X)]
	}
	return strconv.FormatFloat(t.X, 'g', 3, 64)
}

// paramAxis builds the axis of tuned key from its search space (log for
// loguniform, categorical positions for grid_search and choice, linear
// over the bounds for uniform and randint) or, without one (an
// experiment derived by --collect), from the trials' values: linear if
// all are numbers, else categorical in order of appearance.
func paramAxis(key string, spaces []Space, trials []*TrialState) pcAxis {
	a := pcAxis{key: key}
	var vals []string
	for _, t := range trials {
		for _, p := range t.Params {
			if p.Key == key {
				vals = append(vals, p.Value)
			}
		}
	}
	for _, sp := range spaces {
		if sp.Key != key {
			continue
		}
		switch sp.Kind {
		case GridSearch, Choice:
			a.scale, a.cats = axisCategorical, append([]string(nil), sp.Values...)
			for _, v := range vals {
				if indexOf(a.cats, v) < 0 {
					a.cats = append(a.cats, v)
				}
			}
			return a
		case LogUniform:
			a.scale, a.lo, a.hi = axisLog, sp.Lo, sp.Hi
			return a
		case Uniform:
			a.scale, a.lo, a.hi = axisLinear, sp.Lo, sp.Hi
			return a
		case RandInt:
			a.scale, a.lo, a.hi = axisLinear, sp.Lo, sp.Hi-1 // hi is excluded
			return a
		}
	}
	a.scale, a.lo, a.hi = axisLinear, math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			a.scale = axisCategorical
			break
		}
		a.lo, a.hi = math.Min(a.lo, x), math.Max(a.hi, x)
	}
	if a.scale == axisCategorical {
		for _, v := range vals {
			if indexOf(a.cats, v) < 0 {
				a.cats = append(a.cats, v)
			}
		}
	}
	return a
}

// metricAxis is the axis of the trials' best metric, over its range.
func metricAxis(exp *Experiment) pcAxis {
	a := pcAxis{key: "best " + exp.Tune.Metric, scale: axisLinear, lo: math.Inf(1), hi: math.Inf(-1)}
	for _, t := range exp.Trials {
		if !math.IsNaN(t.Best) {
			a.lo, a.hi = math.Min(a.lo, t.Best), math.Max(a.hi, t.Best)
		}
	}
	return a
}

// viridis's control colours (matplotlib), low to high.
var viridis = []color.NRGBA{{0x44, 0x01, 0x54, 0xff}, {0x3b, 0x52, 0x8b, 0xff}, {0x21, 0x91, 0x8c, 0xff}, {0x5e, 0xc9, 0x62, 0xff}, {0xfd, 0xe7, 0x25, 0xff}}

// colourAt interpolates viridis at f in [0, 1].
func colourAt(f float64) color.NRGBA {
	f = math.Min(math.Max(f, 0), 1) * float64(len(viridis)-1)
	i := min(int(f), len(viridis)-2)
	w := f - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-w) + float64(y)*w)) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// greyed is the colour of trials stopped early, failed, or without a
// metric.
var greyed = color.NRGBA{0xb0, 0xb0, 0xb0, 0xff}

// parCoordsPlot draws the parallel coordinates of exp: one vertical
// axis per tuned key but seed, then the best metric's; one polyline per
// trial, coloured by its best metric (viridis, dark low, yellow high)
// or grey for trials stopped early, failed or without a metric value
// (their line ends at the last parameter axis). It returns nil when no
// key is tuned.
func parCoordsPlot(exp *Experiment) (*plot.Plot, []pcAxis, error) {
	var axes []pcAxis
	for _, key := range exp.paramKeys() {
		if key != "seed" {
			axes = append(axes, paramAxis(key, exp.Spaces, exp.Trials))
		}
	}
	if len(axes) == 0 {
		return nil, nil, nil
	}
	m := metricAxis(exp)
	axes = append(axes, m)
	p := plot.New()
	p.Title.Text = "Trials: parameters and best " + exp.Tune.Metric
	p.HideY()
	p.X.Min, p.X.Max = -0.15, float64(len(axes)-1)+0.55
	p.Y.Min, p.Y.Max = -0.03, 1.14 // room for the legend above the axes
	p.X.LineStyle.Width = 0
	p.X.Tick.LineStyle.Width = 0
	var names []plot.Tick
	for i, a := range axes {
		label := a.key
		if a.scale == axisLog {
			label += " (log)"
		}
		names = append(names, plot.Tick{Value: float64(i), Label: label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(names)

	// Trials: grey ones first, so the coloured ones are drawn over them;
	// within each, worst metric first, so the best lies on top.
	order := make([]*TrialState, len(exp.Trials))
	copy(order, exp.Trials)
	isGrey := func(t *TrialState) bool {
		return t.Status == StatusStoppedEarly || t.Status == StatusFailed || math.IsNaN(t.Best)
	}
	sign := 1.0
	if exp.Tune.Mode == "min" {
		sign = -1
	}
	sort.SliceStable(order, func(i, j int) bool {
		gi, gj := isGrey(order[i]), isGrey(order[j])
		if gi != gj {
			return gi
		}
		return !math.IsNaN(order[i].Best) && !math.IsNaN(order[j].Best) && sign*order[i].Best < sign*order[j].Best
	})
	var sample struct{ grey, lo, hi *plotter.Line }
	for _, t := range order {
		var xy plotter.XYs
		for i, a := range axes[:len(axes)-1] {
			for _, prm := range t.Params {
				if prm.Key != a.key {
					continue
				}
				if y, ok := a.pos(prm.Value); ok {
					xy = append(xy, plotter.XY{X: float64(i), Y: y})
				}
			}
		}
		if y, ok := m.posNum(t.Best); ok {
			xy = append(xy, plotter.XY{X: float64(len(axes) - 1), Y: y})
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, nil, fmt.Errorf("tune: parallel coordinates of %s: %w", t.Name, err)
		}
		l.Width = vg.Points(1.5)
		if isGrey(t) {
			l.Color, l.Dashes = greyed, []vg.Length{vg.Points(4), vg.Points(2)}
			sample.grey = l
		} else {
			f, _ := m.posNum(t.Best)
			if exp.Tune.Mode == "min" {
				f = 1 - f // the best is bright either way
			}
			l.Color = colourAt(f)
			if sample.lo == nil || f == 0 {
				sample.lo = l
			}
			if f == 1 {
				sample.hi = l
			}
		}
		p.Add(l)
		if len(xy) == 1 {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, nil, fmt.Errorf("tune: parallel coordinates of %s: %w", t.Name, err)
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = l.Color, vg.Points(2.5), draw.CircleGlyph{}
			p.Add(sc)
		}
	}

	// Axes over the lines: a vertical line each, with its tick labels to
	// the right.
	for i, a := range axes {
		x := float64(i)
		ax, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: 1}})
		if err != nil {
			return nil, nil, fmt.Errorf("tune: parallel coordinates: %w", err)
		}
		ax.Color, ax.Width = color.Black, vg.Points(1)
		p.Add(ax)
		var lab plotter.XYLabels
		for _, tk := range a.ticks() {
			lab.XYs = append(lab.XYs, plotter.XY{X: x, Y: tk.Y})
			lab.Labels = append(lab.Labels, "– "+a.tickLabel(tk))
		}
		if len(lab.XYs) == 0 {
			continue
		}
		labels, err := plotter.NewLabels(lab)
		if err != nil {
			return nil, nil, fmt.Errorf("tune: parallel coordinates: %w", err)
		}
		for j := range labels.TextStyle {
			labels.TextStyle[j].YAlign = draw.YCenter
			labels.TextStyle[j].Font.Size = vg.Points(8)
		}
		labels.Offset = vg.Point{X: -vg.Points(2)}
		p.Add(labels)
	}
	if sample.hi != nil {
		p.Legend.Add(fmt.Sprintf("best %s %.4g", exp.Tune.Metric, bestOf(m, exp.Tune.Mode)), sample.hi)
	}
	if sample.lo != nil && sample.lo != sample.hi {
		p.Legend.Add(fmt.Sprintf("worst %s %.4g", exp.Tune.Metric, worstOf(m, exp.Tune.Mode)), sample.lo)
	}
	if sample.grey != nil {
		p.Legend.Add("stopped early, failed or no value", sample.grey)
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	return p, axes, nil
}

func bestOf(m pcAxis, mode string) float64 {
	if mode == "min" {
		return m.lo
	}
	return m.hi
}

func worstOf(m pcAxis, mode string) float64 {
	if mode == "min" {
		return m.hi
	}
	return m.lo
}

// writeParCoords writes parcoords.png and .svg into dir (see
// parCoordsPlot); false when no key is tuned (nothing written).
func writeParCoords(dir string, exp *Experiment) (bool, error) {
	p, _, err := parCoordsPlot(exp)
	if err != nil || p == nil {
		return false, err
	}
	for _, ext := range []string{".png", ".svg"} {
		path := filepath.Join(dir, ParCoordsName+ext)
		if err := p.Save(parCoordsWidth, parCoordsHeight, path+".tmp"+ext); err != nil {
			return false, fmt.Errorf("tune: parallel coordinates: %w", err)
		}
		if err := os.Rename(path+".tmp"+ext, path); err != nil {
			return false, fmt.Errorf("tune: %w", err)
		}
	}
	return true, nil
}
