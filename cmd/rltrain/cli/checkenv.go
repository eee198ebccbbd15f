package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/envs/external"
)

// newCheckEnv is `rltrain check-env ID`: make the env as training would
// (envs.Make, so with its TimeLimit), run envs.Check on it and print each
// problem on a line. Exit 0 when there is no error (warnings allowed),
// 1 when the env breaks the contract, 2 for an unknown id or bad options.
// With a server command after "--" (or --address), the env is one env of
// that server (external.OpenEnv), as env.external trains it.
func newCheckEnv(stdout, stderr io.Writer) *cobra.Command {
	var (
		steps   int
		seed    uint64
		options []string
		address string
	)
	c := &cobra.Command{
		Use:   "check-env ID [-- SERVER COMMAND...]",
		Short: "Check that a registered env keeps the Env contract",
		Long: `check-env makes the env as training would (with its registered time limit)
and steps it with random actions, checking its spaces, the shape, bounds and
finiteness of observations and rewards, determinism under a seed, episode
ends and the handling of invalid actions. Each problem is printed on a line.
Exit status: 0 without errors (warnings allowed), 1 when the env breaks the
contract, 2 for an unknown id or bad options.

An env in another process or language is checked through the env protocol
(docs/external-envs.md): give its server's command after "--", e.g.
  rltrain check-env CartPole-v1 -- python3 -m rlgo_env serve --env CartPole-v1
or the address of a running server with --address.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			var command []string
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				if dash != 1 {
					return &exitError{code: ExitUsage, err: fmt.Errorf("check-env takes one env id before --, got %d", dash)}
				}
				command = args[1:]
			} else if len(args) > 1 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("check-env takes one env id (a server command goes after --)")}
			}
			opts, err := parseEnvOptions(options)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if steps < 1 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--steps %d: want >= 1", steps)}
			}
			var env envs.Env
			if len(command) > 0 || address != "" {
				if len(opts) > 0 {
					return &exitError{code: ExitUsage, err: errors.New("--option does not reach an external env: pass its options to its server")}
				}
				env, err = external.OpenEnv(cmd.Context(), external.Config{Command: command, Address: address}, external.Options{EnvID: id, Log: stderr})
				if err != nil {
					return &exitError{code: ExitError, err: fmt.Errorf("check-env: %w", err)}
				}
			} else if env, err = envs.Make(id, opts); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			defer env.Close()
			r := envs.Check(env, envs.CheckSteps(steps), envs.CheckSeed(seed))
			for _, p := range r.Problems {
				fmt.Fprintf(stdout, "%-7s  %s: %s\n", p.Severity, p.Check, p.Msg)
			}
			fmt.Fprintf(stdout, "%s: %d error(s), %d warning(s) in %d random steps, %d episodes (seed %d)\n",
				id, r.Errors(), r.Warnings(), r.Steps, r.Episodes, seed)
			if !r.OK() {
				return &exitError{code: ExitError, err: fmt.Errorf("check-env: %s breaks the env contract", id)}
			}
			return nil
		},
	}
	c.Flags().IntVar(&steps, "steps", envs.DefaultCheckSteps, "number of random steps (the check replays them, so about twice as many are taken)")
	c.Flags().Uint64Var(&seed, "seed", 0, "seed for Reset and the random actions")
	c.Flags().StringVar(&address, "address", "", "check an env server that is already running: unix:///path.sock or host:port (token: $RLGO_TOKEN)")
	c.Flags().StringArrayVar(&options, "option", nil, "env option key=value, as in a config's env.options (repeatable); values are read as YAML scalars")
	return c
}

// parseEnvOptions reads key=value pairs into env options, each value a
// YAML scalar (so 9.8 is a float64, 200 an int, true a bool).
func parseEnvOptions(kvs []string) (envs.Options, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	opts := envs.Options{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--option %q: want key=value", kv)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--option %s: %w", k, err)
		}
		switch val.(type) {
		case map[string]any, []any:
			return nil, errors.New("--option " + k + ": want a scalar value")
		case nil:
			val = v // an empty value is the empty string
		}
		opts[k] = val
	}
	return opts, nil
}
