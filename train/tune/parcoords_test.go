package tune

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestParCoordsAxisPositions(t *testing.T) {
	spaces := []Space{
		{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-3},
		{Key: "ppo.epochs", Kind: GridSearch, Values: []string{"2", "4", "8"}},
		{Key: "ppo.clip", Kind: Uniform, Lo: 0.1, Hi: 0.3},
		{Key: "ppo.minibatches", Kind: RandInt, Lo: 1, Hi: 5},
		{Key: "model.activation", Kind: Choice, Values: []string{"tanh", "relu"}},
	}
	trials := []*TrialState{{Trial: Trial{Params: []Param{{Key: "env.id", Value: "CartPole-v1"}, {Key: "stop.env_steps", Value: "1000"}}}},
		{Trial: Trial{Params: []Param{{Key: "env.id", Value: "Acrobot-v1"}, {Key: "stop.env_steps", Value: "3000"}}}}}
	for _, tc := range []struct {
		key, value string
		scale      string
		want       float64
		ok         bool
	}{
		{"ppo.lr", "1e-4", axisLog, 0.5, true}, // log10 midway between -5 and -3
		{"ppo.lr", "1e-5", axisLog, 0, true},
		{"ppo.lr", "0.001", axisLog, 1, true},
		{"ppo.lr", "1", axisLog, 1, true}, // clamped to the space
		{"ppo.lr", "fast", axisLog, 0, false},
		{"ppo.epochs", "2", axisCategorical, 0, true},
		{"ppo.epochs", "4", axisCategorical, 0.5, true},
		{"ppo.epochs", "8", axisCategorical, 1, true},
		{"ppo.epochs", "3", axisCategorical, 0, false},
		{"ppo.clip", "0.15", axisLinear, 0.25, true},
		{"ppo.minibatches", "4", axisLinear, 1, true}, // randint's hi (5) is excluded
		{"model.activation", "relu", axisCategorical, 1, true},
		// Without a space (--collect derived the parameters): numbers are
		// linear over the trials' values, others categorical.
		{"stop.env_steps", "2000", axisLinear, 0.5, true},
		{"env.id", "Acrobot-v1", axisCategorical, 1, true},
	} {
		a := paramAxis(tc.key, spaces, trials)
		got, ok := a.pos(tc.value)
		if a.scale != tc.scale || ok != tc.ok || ok && math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("axis %s (%s): pos(%s) = %v, %v; want %s axis, %v, %v", tc.key, a.scale, tc.value, got, ok, tc.scale, tc.want, tc.ok)
		}
	}
}

// parCoordsExperiment is an experiment of trials over a loguniform
// learning rate and a grid of epochs, with seeds; statuses cycle
// through those given, and the best metric rises with the trial index.
func parCoordsExperiment(n int, statuses ...string) *Experiment {
	exp := &Experiment{Tune: Settings{Metric: "episode_return_mean", Mode: "max"}, Spaces: []Space{
		{Key: "ppo.lr", Kind: LogUniform, Lo: 1e-5, Hi: 1e-2},
		{Key: "ppo.epochs", Kind: GridSearch, Values: []string{"4", "10"}},
	}}
	for i := 0; i < n; i++ {
		best := 20 + 40*float64(i)
		if statuses[i%len(statuses)] == StatusFailed {
			best = math.NaN()
		}
		exp.Trials = append(exp.Trials, &TrialState{Trial: Trial{ID: i, Name: "trial-" + string(rune('a'+i)), Params: []Param{
			{Key: "ppo.lr", Value: formatFloat(1e-5 * math.Pow(10, 3*float64(i)/float64(n)))},
			{Key: "ppo.epochs", Value: []string{"4", "10"}[i%2]},
			{Key: "seed", Value: "1"},
		}}, Status: statuses[i%len(statuses)], Best: best})
	}
	return exp
}

// pixels counts the PNG's coloured pixels (viridis lines) and grey ones
// (the greyed trials' colour).
func pixels(t *testing.T, path string) (size image.Point, coloured, grey int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r == uint32(greyed.R) && g == uint32(greyed.G) && bl == uint32(greyed.B):
				grey++
			case max(r, g, bl)-min(r, g, bl) > 60:
				coloured++
			}
		}
	}
	return b.Size(), coloured, grey
}

func TestParCoordsPNG(t *testing.T) {
	for _, tc := range []struct {
		name          string
		exp           *Experiment
		wantFile      bool
		wantColoured  bool
		wantGreyLines bool
	}{
		{"all finished", parCoordsExperiment(6, StatusFinished), true, true, false},
		{"some stopped early and failed", parCoordsExperiment(8, StatusFinished, StatusStoppedEarly, StatusFailed, StatusFinished), true, true, true},
		{"all stopped early", parCoordsExperiment(4, StatusStoppedEarly), true, false, true},
		{"only seeds tuned", &Experiment{Tune: Settings{Metric: "episode_return_mean"}, Trials: []*TrialState{
			{Trial: Trial{Params: []Param{{Key: "seed", Value: "1"}}}, Status: StatusFinished, Best: 10}}}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ok, err := writeParCoords(dir, tc.exp)
			if err != nil || ok != tc.wantFile {
				t.Fatalf("writeParCoords = %v, %v; want %v, nil", ok, err, tc.wantFile)
			}
			if !ok {
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("wrote %v with nothing tuned", ents)
				}
				return
			}
			size, coloured, grey := pixels(t, filepath.Join(dir, ParCoordsName+".png"))
			if size != (image.Point{X: 960, Y: 480}) {
				t.Errorf("parcoords.png is %v; want 960x480 (10x5 inches at 96 dpi)", size)
			}
			if (coloured > 500) != tc.wantColoured || (grey > 200) != tc.wantGreyLines {
				t.Errorf("parcoords.png has %d coloured and %d grey pixels; want coloured lines %v, grey lines %v", coloured, grey, tc.wantColoured, tc.wantGreyLines)
			}
			if st, err := os.Stat(filepath.Join(dir, ParCoordsName+".svg")); err != nil || st.Size() == 0 {
				t.Errorf("parcoords.svg: %v", err)
			}
		})
	}
}

func TestAddFiguresPlacement(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		where          func(string) int
	}{
		{"html after the last figure", "<h1>x</h1>\n<figure id=\"a\">\n</figure>\n<figure id=\"b\">\n</figure>\n<ul>\n</ul>\n</body>", "<h1>x</h1>\n<figure id=\"a\">\n</figure>\n<figure id=\"b\">\n</figure>\nNEW<ul>\n</ul>\n</body>", afterLastFigureHTML},
		{"html without figures", "<h1>x</h1>\n</body>\n</html>\n", "<h1>x</h1>\nNEW</body>\n</html>\n", afterLastFigureHTML},
		{"markdown after the figures", "# T\n\nGenerated.\n\n![a](a.png)\n\n![b](b.png)\n\n- note\n\n## Groups\n", "# T\n\nGenerated.\n\n![a](a.png)\n\n![b](b.png)\n\nNEW- note\n\n## Groups\n", afterFiguresMarkdown},
		{"markdown without figures", "# T\n\n## Groups\n", "# T\n\nNEW## Groups\n", afterFiguresMarkdown},
	} {
		at := tc.where(tc.in)
		if got := tc.in[:at] + "NEW" + tc.in[at:]; got != tc.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
