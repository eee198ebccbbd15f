package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/train/checkpoint"
	"github.com/rlgo/rlgo/train/config"
)

// Evaluation is what rltrain evaluate reports (and prints with --json).
type Evaluation struct {
	Checkpoint string    `json:"checkpoint"`
	Env        string    `json:"env"`
	Episodes   int       `json:"episodes"`
	Seed       uint64    `json:"seed"`
	Stochastic bool      `json:"stochastic"`
	ReturnMean float64   `json:"return_mean"`
	ReturnStd  float64   `json:"return_std"`
	LengthMean float64   `json:"length_mean"`
	LengthStd  float64   `json:"length_std"`
	Returns    []float64 `json:"returns"`
}

func newEvaluate(stdout, stderr io.Writer) *cobra.Command {
	var episodes int
	var seed uint64
	var asJSON, stochastic bool
	c := &cobra.Command{
		Use:   "evaluate CHECKPOINT|RUN_DIR",
		Short: "Run the greedy policy of a checkpoint (or a run's latest) for some episodes",
		Long: `Evaluate loads a checkpoint directory (RUN/checkpoints/iter-NNNNNN), or the
latest valid checkpoint of a run directory (local or s3://bucket/prefix), and
runs its deterministic policy — the most probable action for PPO, the
greedy action for DQN — on fresh envs made from the checkpoint's config.
With --stochastic a PPO policy samples its actions instead, as in training
(Stable-Baselines3's deterministic=False; gymnax-blines' evaluations),
from a stream seeded by --seed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if episodes < 1 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--episodes: want >= 1, got %d", episodes)}
			}
			ev, err := evaluate(cmd.Context(), args[0], episodes, seed, stochastic, stderr)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(ev)
			}
			kind := ""
			if ev.Stochastic {
				kind = ", sampled actions"
			}
			fmt.Fprintf(stdout, "%s on %s, %d episodes (seed %d%s): return %.2f ± %.2f, length %.1f ± %.1f\n",
				ev.Checkpoint, ev.Env, ev.Episodes, ev.Seed, kind, ev.ReturnMean, ev.ReturnStd, ev.LengthMean, ev.LengthStd)
			return nil
		},
	}
	c.Flags().IntVar(&episodes, "episodes", 10, "episodes to run")
	c.Flags().Uint64Var(&seed, "seed", 0, "seed of the first episode's reset (episode i uses seed+i)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	c.Flags().BoolVar(&stochastic, "stochastic", false, "sample PPO's actions from its policy instead of taking the most probable (seeded by --seed)")
	return c
}

// loadCheckpoint finds the checkpoint at loc: a checkpoint directory, or a
// run directory whose latest valid checkpoint is used.
func loadCheckpoint(ctx context.Context, loc string, log io.Writer) (*checkpoint.Checkpoint, string, error) {
	loc = strings.TrimSuffix(loc, "/")
	if base := path.Base(loc); strings.HasPrefix(base, "iter-") {
		runLoc := path.Dir(path.Dir(loc)) // RUN/checkpoints/iter-N
		if !strings.HasPrefix(loc, "s3://") {
			runLoc = filepath.Dir(filepath.Dir(loc))
		}
		store, err := checkpoint.OpenStore(runLoc)
		if err != nil {
			return nil, "", &exitError{code: ExitUsage, err: err}
		}
		c, err := checkpoint.Load(ctx, store, path.Join(checkpoint.Dir, base))
		if errors.Is(err, checkpoint.ErrNotFound) {
			return nil, "", &exitError{code: ExitUsage, err: err}
		}
		if err != nil {
			return nil, "", &exitError{code: ExitError, err: err}
		}
		return c, loc, nil
	}
	store, err := checkpoint.OpenStore(loc)
	if err != nil {
		return nil, "", &exitError{code: ExitUsage, err: err}
	}
	if ls, ok := store.(checkpoint.LocalStore); ok {
		if _, err := os.Stat(ls.Root); err != nil {
			return nil, "", &exitError{code: ExitUsage, err: fmt.Errorf("%s: %w", loc, errors.Unwrap(err))}
		}
	}
	c, aside, err := checkpoint.Latest(ctx, store)
	for _, a := range aside {
		fmt.Fprintf(log, "evaluate: set aside %v\n", a)
	}
	if errors.Is(err, checkpoint.ErrNone) {
		return nil, "", &exitError{code: ExitUsage, err: fmt.Errorf("%s holds no valid checkpoint", loc)}
	}
	if err != nil {
		return nil, "", &exitError{code: ExitError, err: err}
	}
	return c, loc + "/" + c.Key, nil
}

func evaluate(ctx context.Context, loc string, episodes int, seed uint64, stochastic bool, log io.Writer) (*Evaluation, error) {
	ck, name, err := loadCheckpoint(ctx, loc, log)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(name+" (config)", []byte(ck.Meta.Config), nil)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	raw, err := ck.File("weights.msgpack")
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	w, err := policy.UnmarshalWeights(raw)
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	var pol algorithms.Greedy
	if stochastic {
		pol, err = stochasticPolicy(&cfg.Config, w, seed)
	} else {
		pol, err = greedyPolicy(&cfg.Config, w)
	}
	if errors.Is(err, errGreedyOnly) {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	if err != nil {
		return nil, &exitError{code: ExitError, err: fmt.Errorf("evaluate: %w", err)}
	}
	res, err := algorithms.EvaluateSetup(ctx, cfg.Setup(nil), pol, episodes, seed)
	if err != nil {
		code := ExitError
		if ctx.Err() != nil {
			code = ExitInterrupted
		}
		return nil, &exitError{code: code, err: err}
	}
	return &Evaluation{
		Checkpoint: name, Env: cfg.Env.ID, Episodes: episodes, Seed: seed, Stochastic: stochastic,
		ReturnMean: res.ReturnMean, ReturnStd: res.ReturnStd, LengthMean: res.LengthMean, LengthStd: res.LengthStd,
		Returns: res.Returns,
	}, nil
}
