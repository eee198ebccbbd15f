package algorithms

import "fmt"

// Optim is the part of an algorithm's config section that every
// gradient-based algorithm has: Adam's step size, its schedule and ε,
// gradient clipping, and the discount. Algorithms embed it inline (`yaml:",inline"`), so its
// keys sit in the algorithm's section (ppo.lr, dqn.gamma); each
// algorithm's DefaultConfig documents its defaults.
type Optim struct {
	// LR is Adam's initial learning rate.
	LR float64 `yaml:"lr"`
	// LRSchedule anneals LR linearly to Final over Steps env steps.
	// Default constant (steps 0).
	LRSchedule Schedule `yaml:"lr_schedule"`
	// Gamma is the discount factor γ.
	Gamma float64 `yaml:"gamma"`
	// MaxGradNorm clips the global gradient norm; 0 disables.
	MaxGradNorm float64 `yaml:"max_grad_norm"`
	// AdamEps is Adam's ε.
	AdamEps float64 `yaml:"adam_eps"`
}

// Checks returns the checks of Optim's fields, for a section's Validate.
func (o Optim) Checks() []Check {
	checks := append([]Check{Field("lr", o.LR > 0, o.LR, "want > 0")}, o.LRSchedule.Checks("lr_schedule")...)
	return append(checks,
		Field("gamma", o.Gamma >= 0 && o.Gamma <= 1, o.Gamma, "want in [0, 1]"),
		Field("max_grad_norm", o.MaxGradNorm >= 0, o.MaxGradNorm, "want >= 0"),
		Field("adam_eps", o.AdamEps > 0, o.AdamEps, "want > 0"))
}

// Checks returns the checks of a schedule under key (final and steps
// both >= 0, start in [0, steps)), for a section's Validate.
func (s Schedule) Checks(key string) []Check {
	return s.checks(key, s.Final >= 0, "want >= 0")
}

// BoundedChecks is Checks with final also at most hi (an exploration rate).
func (s Schedule) BoundedChecks(key string, hi float64) []Check {
	return s.checks(key, s.Final >= 0 && s.Final <= hi, fmt.Sprintf("want in [0, %g]", hi))
}

func (s Schedule) checks(key string, finalOK bool, finalWant string) []Check {
	return []Check{
		Field(key+".final", finalOK, s.Final, finalWant),
		Field(key+".steps", s.Steps >= 0, s.Steps, "want >= 0"),
		Field(key+".start", s.Start >= 0 && (s.Start == 0 || s.Start < s.Steps), s.Start, "want >= 0 and < steps"),
	}
}

// Check is one config field's validity: its YAML key within the section,
// whether the value is acceptable, the value, and what is wanted.
type Check struct {
	Key  string
	OK   bool
	Val  any
	Want string
}

// Field is the Check of one field: key, whether val is acceptable, val,
// and what is wanted ("want > 0").
func Field(key string, ok bool, val any, want string) Check {
	return Check{Key: key, OK: ok, Val: val, Want: want}
}

// FirstFailed returns a FieldError for the first check that fails, in
// order, or nil when all pass.
func FirstFailed(checks ...[]Check) error {
	for _, list := range checks {
		for _, c := range list {
			if !c.OK {
				return &FieldError{Key: c.Key, Msg: fmt.Sprintf("%s, got %v", c.Want, c.Val)}
			}
		}
	}
	return nil
}
