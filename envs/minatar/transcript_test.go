package minatar

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rlgo/rlgo/envs"
)

// moduleIDs maps MinAtar's module names to rlgo's ids.
var moduleIDs = map[string]string{
	"asterix":        "Asterix-MinAtar",
	"breakout":       "Breakout-MinAtar",
	"freeway":        "Freeway-MinAtar",
	"seaquest":       "Seaquest-MinAtar",
	"space_invaders": "SpaceInvaders-MinAtar",
}

// packObs is np.packbits(state.reshape(-1)) as hex: the transcripts' format.
func packObs(obs []float32) string {
	b := make([]byte, (len(obs)+7)/8)
	for i, v := range obs {
		if v != 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return hex.EncodeToString(b)
}

// diffObs names the first cells where two packed observations differ.
func diffObs(got, want string, nc int) string {
	g, _ := hex.DecodeString(got)
	w, _ := hex.DecodeString(want)
	var out []string
	for i := 0; i < 100*nc && len(out) < 8; i++ {
		if i/8 >= len(g) || i/8 >= len(w) {
			break
		}
		gb, wb := g[i/8]&(0x80>>(i%8)) != 0, w[i/8]&(0x80>>(i%8)) != 0
		if gb != wb {
			out = append(out, fmt.Sprintf("(y %d, x %d, c %d): got %v want %v", i/nc/10, i/nc%10, i%nc, gb, wb))
		}
	}
	return strings.Join(out, "; ")
}

// transcriptEnv builds the env a transcript's header describes.
func transcriptEnv(header string) (*Env, error) {
	kv := map[string]string{}
	for _, f := range strings.Fields(strings.TrimPrefix(header, "#")) {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	id, ok := moduleIDs[kv["game"]]
	if !ok {
		return nil, fmt.Errorf("header %q: unknown game", header)
	}
	sticky, err := strconv.ParseFloat(kv["sticky"], 64)
	if err != nil {
		return nil, fmt.Errorf("header %q: %w", header, err)
	}
	return New(id, envs.Options{
		OptStickyActionProb:  sticky,
		OptDifficultyRamping: kv["ramping"] == "1",
		OptMinimalActionSet:  kv["minimal"] == "1",
	})
}

// TestTranscripts replays MinAtar v1.0.15's own play (written by
// testdata/gen_transcripts.py with Debian's NumPy) and checks every
// observation, reward and terminal flag.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt.gz")
	if err != nil || len(files) != 10 {
		t.Fatalf("want 10 transcripts in testdata, got %d (%v)", len(files), err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt.gz"), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(make([]byte, 1<<16), 1<<20)
			sc.Scan()
			env, err := transcriptEnv(sc.Text())
			if err != nil {
				t.Fatal(err)
			}
			nc := env.Game.Channels()
			steps, episodes, terminals := 0, 0, 0
			for line := 2; sc.Scan(); line++ {
				fs := strings.Fields(sc.Text())
				var obs []float32
				var want string
				switch {
				case len(fs) == 3 && fs[0] == "R":
					var seed *uint64
					if fs[1] != "-" {
						s, err := strconv.ParseUint(fs[1], 10, 64)
						if err != nil {
							t.Fatalf("line %d: %v", line, err)
						}
						seed = &s
					}
					obs, _, err = env.Reset(seed)
					if err != nil {
						t.Fatalf("line %d: reset: %v", line, err)
					}
					want = fs[2]
					episodes++
				case len(fs) == 5 && fs[0] == "S":
					a, _ := strconv.Atoi(fs[1])
					r, _ := strconv.Atoi(fs[2])
					term := fs[3] == "1"
					res, err := env.Step(envs.DiscreteAction(a))
					if err != nil {
						t.Fatalf("line %d: step: %v", line, err)
					}
					if res.Reward != float64(r) || res.Terminated != term || res.Truncated {
						t.Fatalf("line %d (step %d): got reward %v terminated %v truncated %v, want %d %v false", line, steps, res.Reward, res.Terminated, res.Truncated, r, term)
					}
					obs, want = res.Obs, fs[4]
					steps++
					if term {
						terminals++
					}
				default:
					t.Fatalf("line %d: cannot parse %q", line, sc.Text())
				}
				if got := packObs(obs); got != want {
					t.Fatalf("line %d (step %d, episode %d): observation differs: %s", line, steps, episodes, diffObs(got, want, nc))
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if steps < 1500 || terminals < 1 {
				t.Fatalf("transcript too short: %d steps, %d terminations", steps, terminals)
			}
			t.Logf("%d steps, %d episodes, %d terminations equal to MinAtar's", steps, episodes, terminals)
		})
	}
}
