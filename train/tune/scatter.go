package tune

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writeScatter writes, for each tuned numeric parameter but seed,
// scatter_<key>.png and .svg: the parameter against each trial's best
// metric (log x for a loguniform space), stopped trials hollow. It
// returns the figures written.
func writeScatter(dir string, exp *Experiment) ([]figure, error) {
	var figs []figure
	kind := map[string]string{}
	for _, s := range exp.Spaces {
		kind[s.Key] = s.Kind
	}
	for _, key := range exp.paramKeys() {
		if key == "seed" {
			continue
		}
		var done, stopped plotter.XYs
		for _, t := range exp.Trials {
			if math.IsNaN(t.Best) {
				continue
			}
			for _, p := range t.Params {
				if p.Key != key {
					continue
				}
				x, err := strconv.ParseFloat(p.Value, 64)
				if err != nil {
					continue
				}
				pt := plotter.XY{X: x, Y: t.Best}
				if t.Status == StatusStoppedEarly {
					stopped = append(stopped, pt)
				} else {
					done = append(done, pt)
				}
			}
		}
		if len(done)+len(stopped) == 0 {
			continue
		}
		p := plot.New()
		title := fmt.Sprintf("best %s against %s", exp.Tune.Metric, key)
		p.Title.Text = title
		p.X.Label.Text, p.Y.Label.Text = key, "best "+exp.Tune.Metric
		if kind[key] == LogUniform {
			p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		}
		for _, s := range []struct {
			xy    plotter.XYs
			name  string
			glyph draw.GlyphDrawer
		}{{done, "trials run to their end", draw.CircleGlyph{}}, {stopped, "stopped early", draw.RingGlyph{}}} {
			if len(s.xy) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(s.xy)
			if err != nil {
				return nil, fmt.Errorf("tune: scatter %s: %w", key, err)
			}
			sc.GlyphStyle.Shape, sc.GlyphStyle.Radius, sc.GlyphStyle.Color = s.glyph, vg.Points(3), color.NRGBA{0x1f, 0x77, 0xb4, 0xff}
			p.Add(sc)
			p.Legend.Add(s.name, sc)
		}
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		for _, ext := range []string{".png", ".svg"} {
			path := filepath.Join(dir, "scatter_"+key+ext)
			if err := p.Save(8*vg.Inch, 5*vg.Inch, path+".tmp"+ext); err != nil {
				return nil, fmt.Errorf("tune: scatter %s: %w", key, err)
			}
			if err := os.Rename(path+".tmp"+ext, path); err != nil {
				return nil, fmt.Errorf("tune: %w", err)
			}
		}
		figs = append(figs, figure{name: "scatter_" + key, title: title})
	}
	return figs, nil
}
