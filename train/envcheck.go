package train

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/envs"
	"github.com/rlgo/rlgo/rollout"
	"github.com/rlgo/rlgo/train/config"
)

// unknownOptionsRE matches envs.UnknownOptions' message.
var unknownOptionsRE = regexp.MustCompile(`unknown option\(s\) (.+?) \(known: ([^)]*)\)`)

// checkEnv makes one env as the run's workers will and asks the
// algorithm for its policy there, so that an env that cannot be made
// (an unknown option) or an algorithm that cannot act in it (DQN with
// continuous actions) is a config error naming the key — found before
// the run directory exists. It returns the spaces it read.
func checkEnv(cfg *config.Config, reg algorithms.Registration, s algorithms.Setup) (rollout.Spaces, error) {
	s = s.WithDefaults()
	sp, err := s.Spaces()
	if err != nil {
		return sp, envError(cfg, err)
	}
	if _, err := reg.Policy(cfg.Section, s, sp); err != nil {
		msg := strings.TrimPrefix(err.Error(), "env "+cfg.Env.ID+": ")
		return sp, &config.Error{Key: "algorithm", Msg: fmt.Sprintf("%s cannot act in %s: %s", cfg.Algorithm, cfg.Env.ID, msg)}
	}
	return sp, nil
}

// envError names the config key an env's construction error is about.
func envError(cfg *config.Config, err error) error {
	if m := unknownOptionsRE.FindStringSubmatch(err.Error()); m != nil {
		bad := strings.Split(m[1], ", ")
		var known []string
		for _, k := range strings.Split(m[2], ", ") {
			if k = strings.TrimSpace(k); k != "" {
				known = append(known, k)
			}
		}
		takes := "none (only " + envs.MaxEpisodeStepsOption + ", which every env takes)"
		if len(known) > 0 {
			takes = strings.Join(known, ", ") + " (and " + envs.MaxEpisodeStepsOption + ", which every env takes)"
		}
		what := "unknown option " + bad[0]
		if len(bad) > 1 {
			what = "unknown options " + strings.Join(bad, ", ")
		}
		return &config.Error{Key: "env.options." + bad[0], Msg: fmt.Sprintf("%s: %s takes %s", what, cfg.Env.ID, takes)}
	}
	key := "env.id"
	switch {
	case len(cfg.Env.Options) > 0:
		key = "env.options"
	case len(cfg.Env.Wrappers) > 0:
		key = "env.wrappers"
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		return err
	}
	return &config.Error{Key: key, Msg: err.Error()}
}
