package envs

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Names of the wrappers a WrapperSpec can name (YAML: env.wrappers).
const (
	WrapClipAction           = "clip_action"
	WrapFrameStack           = "frame_stack"           // options: n (default 4), padding: reset|zero
	WrapNormalizeObservation = "normalize_observation" // options: clip (10), epsilon (1e-8)
	WrapNormalizeReward      = "normalize_reward"      // options: gamma (0.99), epsilon (1e-8), clip (none)
	WrapTransformReward      = "transform_reward"      // options: scale (1), clip (none)
	WrapEpisodeStatistics    = "episode_statistics"
)

// WrapperNames lists the wrappers Wrap knows, in documentation order.
var WrapperNames = []string{WrapClipAction, WrapFrameStack, WrapNormalizeObservation, WrapNormalizeReward, WrapTransformReward, WrapEpisodeStatistics}

// WrapperSpec names a wrapper and its options, the data form of the
// wrappers in this package, so that a config file can list them
// (env.wrappers) and a remote worker can receive them.
type WrapperSpec struct {
	Name    string  `msgpack:"name"`
	Options Options `msgpack:"options"`
}

// Validate checks the name and the options (types and ranges) by building
// the wrapper around a stand-in env.
func (s WrapperSpec) Validate() error {
	if !slices.Contains(WrapperNames, s.Name) {
		return fmt.Errorf("unknown wrapper %q (known: %s)", s.Name, strings.Join(WrapperNames, ", "))
	}
	_, err := wrapOne(standIn{}, s)
	return err
}

// Wrap wraps env in specs, first spec innermost, like a chain of
// gymnasium.wrappers calls. When a wrapper changes rewards
// (normalize_reward, transform_reward) and the chain records no episode
// statistics inside it, an EpisodeStatistics is put innermost, so that the
// returns VectorEnv reports stay those of the env itself.
func Wrap(env Env, specs []WrapperSpec) (Env, error) {
	changesReward, hasStats := false, false
	for _, s := range specs {
		switch s.Name {
		case WrapNormalizeReward, WrapTransformReward:
			changesReward = changesReward || !hasStats
		case WrapEpisodeStatistics:
			hasStats = true
		}
	}
	if changesReward {
		env = NewEpisodeStatistics(env)
	}
	for i, s := range specs {
		w, err := wrapOne(env, s)
		if err != nil {
			return nil, fmt.Errorf("wrapper %d (%s): %w", i, s.Name, err)
		}
		env = w
	}
	return env, nil
}

// MakeWrapped is Make followed by Wrap.
func MakeWrapped(id string, opts Options, specs []WrapperSpec) (Env, error) {
	env, err := Make(id, opts)
	if err != nil {
		return nil, err
	}
	w, err := Wrap(env, specs)
	if err != nil {
		env.Close()
		return nil, fmt.Errorf("make %s: %w", id, err)
	}
	return w, nil
}

func wrapOne(env Env, s WrapperSpec) (Env, error) {
	o := s.Options
	switch s.Name {
	case WrapClipAction:
		if err := UnknownOptions(o); err != nil {
			return nil, err
		}
		return NewClipAction(env)
	case WrapFrameStack:
		if err := UnknownOptions(o, "n", "padding"); err != nil {
			return nil, err
		}
		n, err := FloatOption(o, "n", 4)
		if err != nil {
			return nil, err
		}
		if n != math.Trunc(n) || n < 1 || n > 1024 {
			return nil, fmt.Errorf("option n: want an integer in [1, 1024], got %v", n)
		}
		pad := PadReset
		switch p, _ := o["padding"].(string); {
		case o["padding"] == nil || p == "reset":
		case p == "zero":
			pad = PadZero
		default:
			return nil, fmt.Errorf("option padding: want reset or zero, got %v", o["padding"])
		}
		return NewFrameStack(env, int(n), pad)
	case WrapNormalizeObservation:
		clip, eps, err := ObsNormOptions(o)
		if err != nil {
			return nil, err
		}
		n, err := NewNormalizeObservation(env)
		if err != nil {
			return nil, err
		}
		n.Clip, n.Epsilon = clip, eps
		return n, nil
	case WrapNormalizeReward:
		if err := UnknownOptions(o, "gamma", "epsilon", "clip"); err != nil {
			return nil, err
		}
		gamma, err := FloatOption(o, "gamma", 0.99)
		if err != nil {
			return nil, err
		}
		if !(gamma >= 0 && gamma <= 1) {
			return nil, fmt.Errorf("option gamma: want in [0, 1], got %v", gamma)
		}
		clip, eps, err := clipEpsilon(o, 0)
		if err != nil {
			return nil, err
		}
		n, err := NewNormalizeReward(env, gamma)
		if err != nil {
			return nil, err
		}
		n.Epsilon = eps
		if clip == 0 {
			return n, nil
		}
		return NewTransformReward(n, func(r float64) float64 { return math.Min(math.Max(r, -clip), clip) })
	case WrapTransformReward:
		if err := UnknownOptions(o, "scale", "clip"); err != nil {
			return nil, err
		}
		scale, err := FloatOption(o, "scale", 1)
		if err != nil {
			return nil, err
		}
		clip, err := FloatOption(o, "clip", 0)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(scale) || math.IsInf(scale, 0) || !(clip >= 0) || math.IsInf(clip, 0) {
			return nil, fmt.Errorf("options scale %v, clip %v: want a finite scale and a finite clip ≥ 0", scale, clip)
		}
		return NewTransformReward(env, func(r float64) float64 {
			r *= scale
			if clip > 0 {
				r = math.Min(math.Max(r, -clip), clip)
			}
			return r
		})
	case WrapEpisodeStatistics:
		if err := UnknownOptions(o); err != nil {
			return nil, err
		}
		return NewEpisodeStatistics(env), nil
	}
	return nil, fmt.Errorf("unknown wrapper %q (known: %s)", s.Name, strings.Join(WrapperNames, ", "))
}

// ObsNormOptions reads a normalize_observation wrapper's options: clip
// (default 10; 0 means no clipping) and epsilon (default 1e-8). Unknown
// options and values out of range are errors naming the option.
func ObsNormOptions(o Options) (clip, epsilon float64, err error) {
	if err := UnknownOptions(o, "clip", "epsilon"); err != nil {
		return 0, 0, err
	}
	return clipEpsilon(o, DefaultNormalizeClip)
}

// clipEpsilon reads the clip (≥ 0, def when absent) and epsilon (> 0) options.
func clipEpsilon(o Options, def float64) (float64, float64, error) {
	clip, err := FloatOption(o, "clip", def)
	if err != nil {
		return 0, 0, err
	}
	eps, err := FloatOption(o, "epsilon", DefaultNormalizeEpsilon)
	if err != nil {
		return 0, 0, err
	}
	if !(clip >= 0) || math.IsInf(clip, 0) || !(eps > 0) || math.IsInf(eps, 0) {
		return 0, 0, fmt.Errorf("options clip %v, epsilon %v: want a finite clip ≥ 0 and a finite epsilon > 0", clip, eps)
	}
	return clip, eps, nil
}

// standIn is the env Validate wraps: one-element Box observations and
// actions, so that every wrapper can be built to check its options.
type standIn struct{}

func (standIn) ObservationSpace() Space { return UniformBox(1, -1, 1) }
func (standIn) ActionSpace() Space      { return UniformBox(1, -1, 1) }
func (standIn) Reset(*uint64) ([]float32, Info, error) {
	return []float32{0}, nil, nil
}
func (standIn) Step(Action) (StepResult, error) { return StepResult{Obs: []float32{0}}, nil }
func (standIn) Close() error                    { return nil }
