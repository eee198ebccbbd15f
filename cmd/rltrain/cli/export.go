package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/policy"
	"github.com/rlgo/rlgo/train/config"
)

func newExport(stdout, stderr io.Writer) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "export CHECKPOINT|RUN_DIR --out policy.msgpack",
		Short: "Write a checkpoint's inference-only policy for serving with policy.Load",
		Long: `Export writes the deterministic policy of a checkpoint (or of a run's latest
valid checkpoint) — network kind and shape, weights, observation and action
spaces — to one msgpack file. Any Go program serves it with policy.Load and
Policy.Act, without gorgonia.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--out is required")}
			}
			ck, name, err := loadCheckpoint(cmd.Context(), args[0], stderr)
			if err != nil {
				return err
			}
			cfg, err := config.Parse(name+" (config)", []byte(ck.Meta.Config), nil)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			raw, err := ck.File("weights.msgpack")
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			w, err := policy.UnmarshalWeights(raw)
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			spec, spaces, err := policySpec(&cfg.Config)
			if err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("export: %w", err)}
			}
			exp := &policy.Exported{
				EnvID: cfg.Env.ID, ObsLow: spaces.Obs.Low, ObsHigh: spaces.Obs.High, ObsShape: spaces.Obs.Shape(), NumActions: spaces.NumActions,
				Model: cfg.Model, Weights: w, Kind: spec.Kind, Dueling: spec.Q.Dueling,
			}
			if spaces.Actions != nil {
				exp.ActionLow, exp.ActionHigh = spaces.Actions.Low, spaces.Actions.High
			}
			data, err := exp.Encode()
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return &exitError{code: ExitError, err: fmt.Errorf("export: %w", err)}
			}
			fmt.Fprintf(stdout, "exported %s (%s, %s) to %s: %d bytes\n", name, cfg.Algorithm, cfg.Env.ID, out, len(data))
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write (required)")
	return c
}
