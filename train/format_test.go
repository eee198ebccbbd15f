package train

import (
	"strings"
	"testing"

	"github.com/rlgo/rlgo/algorithms"
)

// TestReturnMeanSignificantDigits (issue 13): the console shows
// return_mean with four significant digits, so 0.842 is not "0.8".
func TestReturnMeanSignificantDigits(t *testing.T) {
	for v, want := range map[float64]string{0.842: "0.842", 475.31: "475.3", -123.456: "-123.5", 21: "21", 1234.5: "1234", 0.00001234: "1.23e-05", 0: "0"} {
		line := formatLine(algorithms.Result{Iteration: 1, HasEpisodes: true, EpisodeReturnMean: v})
		if !strings.Contains(line, "return_mean "+strings.Repeat(" ", 8-len(want))+want+" ") {
			t.Errorf("return_mean %v: %q; want %q", v, line, want)
		}
	}
}
