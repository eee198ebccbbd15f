// Package minatar holds the five MinAtar games (Young & Tian 2019,
// "MinAtar: An Atari-Inspired Testbed for Thorough and Reproducible
// Reinforcement Learning", arXiv:1903.03176) as native Go envs, ported
// step for step from kenjyoung/MinAtar v1.0.15 (commit 4241f24,
// minatar/environment.py and minatar/environments/*.py).
//
// Importing the package registers Asterix-MinAtar, Breakout-MinAtar,
// Freeway-MinAtar, Seaquest-MinAtar and SpaceInvaders-MinAtar (gymnax's
// and pgx's names) with envs.Register. Each observation is a rank-3
// envs.Box of shape (10, 10, C), channels last, 0/1 float32 values laid out
// row-major: Asterix C=4, Breakout 4, Freeway 7, Seaquest 10,
// SpaceInvaders 6. Actions are Discrete(6), MinAtar's full set
// (no-op, left, up, right, down, fire) as its published results use, or
// the game's minimal set with the option minimal_action_set.
//
// # Options
//
//   - sticky_action_prob (number in [0, 1], default 0.1): the chance that
//     a step repeats the previous action instead of the chosen one.
//   - difficulty_ramping (bool, default true): Asterix, Seaquest and Space
//     Invaders speed up over time (Breakout and Freeway ignore it).
//   - minimal_action_set (bool, default false): Discrete(n) over the game's
//     minimal actions (Environment.minimal_action_set()), as MinAtar's
//     Gymnasium ids MinAtar/<Game>-v1.
//
// There is no time limit, as in MinAtar (its Gymnasium registration sets
// none); Freeway's own 2500-frame clock ends its episodes as Terminated,
// as MinAtar reports it terminal. Rewards are MinAtar's integers.
//
// # Randomness and seeds
//
// As MinAtar, one NumPy legacy RandomState (MT19937, see RandomState) draws
// the sticky actions and the game's randomness. Reset(&s) equals a fresh
// Python minatar.Environment(game, sticky_action_prob, difficulty_ramping)
// on which seed(s) and then reset() are called, where the seed s maps to
// np.random.RandomState(s) for s < 2³² and to
// np.random.RandomState([s & 0xffffffff, s >> 32]) above (NumPy refuses
// larger ints); the last action (for sticky actions) starts at 0. Reset(nil)
// equals reset(): the random stream and the last action carry on. An env
// never seeded behaves as if seeded with 0. testdata/gen_transcripts.py
// writes the transcripts of the Python original that the tests replay.
package minatar

import (
	"errors"
	"fmt"

	"github.com/rlgo/rlgo/envs"
)

// The option keys the games accept.
const (
	OptStickyActionProb  = "sticky_action_prob"
	OptDifficultyRamping = "difficulty_ramping"
	OptMinimalActionSet  = "minimal_action_set"
)

// MinAtar's action indices (Environment's action_map: n l u r d f).
const (
	actNoop = iota
	actLeft
	actUp
	actRight
	actDown
	actFire
	numActions
)

// Game is the state and rules of one MinAtar game, MinAtar's per-game Env
// class. Its concrete types (*Asterix, *Breakout, *Freeway, *Seaquest,
// *SpaceInvaders) export their state, so tests can read and place it.
type Game interface {
	// Name is MinAtar's module name, e.g. "space_invaders".
	Name() string
	// Channels is C of the (10, 10, C) observation.
	Channels() int
	// MinimalActions is Env.minimal_action_set(): indices into the full set.
	MinimalActions() []int
	// Reset starts an episode, drawing from rng (Env.reset()).
	Reset(rng *RandomState)
	// Act applies full-set action a (0..5) and returns the reward and
	// whether the game is over (Env.act(a)).
	Act(a int, rng *RandomState) (reward int, terminal bool)
	// Render writes Env.state() into obs (10·10·C values, already zeroed).
	Render(obs []float32)

	encode(e *enc)
	decode(d *dec)
}

type gameInfo struct {
	id, desc string
	new      func(ramping bool) Game
}

var games = []gameInfo{
	{"Asterix-MinAtar", "MinAtar Asterix: collect gold, dodge enemies; Box(10,10,4) obs, Discrete(6)", func(r bool) Game { return &Asterix{Ramping: r} }},
	{"Breakout-MinAtar", "MinAtar Breakout: bounce the ball into bricks; Box(10,10,4) obs, Discrete(6)", func(bool) Game { return &Breakout{} }},
	{"Freeway-MinAtar", "MinAtar Freeway: cross the road in 2500 frames; Box(10,10,7) obs, Discrete(6)", func(bool) Game { return &Freeway{} }},
	{"Seaquest-MinAtar", "MinAtar Seaquest: shoot, rescue divers, surface for air; Box(10,10,10) obs, Discrete(6)", func(r bool) Game { return &Seaquest{Ramping: r} }},
	{"SpaceInvaders-MinAtar", "MinAtar Space Invaders: shoot the aliens; Box(10,10,6) obs, Discrete(6)", func(r bool) Game { return &SpaceInvaders{Ramping: r} }},
}

func init() {
	for _, g := range games {
		id := g.id
		envs.MustRegister(envs.Spec{
			ID:          id,
			New:         func(opts envs.Options) (envs.Env, error) { return New(id, opts) },
			Description: g.desc,
		})
	}
}

// IDs returns the registered ids of the five games.
func IDs() []string {
	ids := make([]string, len(games))
	for i, g := range games {
		ids[i] = g.id
	}
	return ids
}

// Env is a MinAtar game behind the envs.Env interface: MinAtar's
// Environment wrapper (sticky actions, one random source) around a Game.
// It implements envs.Snapshotter.
type Env struct {
	// Game holds the game's state and rules.
	Game Game
	// Rand is the one random source of the sticky actions and the game.
	Rand *RandomState
	// LastAction is the previous full-set action (Environment.last_action),
	// repeated by a sticky step.
	LastAction int

	id       string
	sticky   float64
	ramping  bool
	minimal  bool
	actions  []int // env action index → full-set action
	obs      []float32
	obsSpace *envs.Box
}

// New returns the game registered as id ("Breakout-MinAtar", …) with the
// options described in the package documentation.
func New(id string, opts envs.Options) (*Env, error) {
	var info *gameInfo
	for i := range games {
		if games[i].id == id {
			info = &games[i]
		}
	}
	if info == nil {
		return nil, fmt.Errorf("minatar: %w %q", envs.ErrUnknownEnv, id)
	}
	if err := envs.UnknownOptions(opts, OptStickyActionProb, OptDifficultyRamping, OptMinimalActionSet); err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	sticky, err := envs.FloatOption(opts, OptStickyActionProb, 0.1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	if !(sticky >= 0 && sticky <= 1) {
		return nil, fmt.Errorf("%s: option %s: want a probability in [0, 1], got %v", id, OptStickyActionProb, sticky)
	}
	ramping, err := boolOption(opts, OptDifficultyRamping, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	minimal, err := boolOption(opts, OptMinimalActionSet, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	g := info.new(ramping)
	e := &Env{Game: g, Rand: NewRandomState(0), id: id, sticky: sticky, ramping: ramping, minimal: minimal}
	e.actions = []int{actNoop, actLeft, actUp, actRight, actDown, actFire}
	if minimal {
		e.actions = g.MinimalActions()
	}
	n := 10 * 10 * g.Channels()
	e.obs = make([]float32, n)
	e.obsSpace = envs.UniformBox(n, 0, 1)
	e.obsSpace.Dims = []int{10, 10, g.Channels()}
	g.Reset(e.Rand)
	return e, nil
}

func boolOption(opts envs.Options, key string, def bool) (bool, error) {
	v, ok := opts[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("option %s: want true or false, got %T %v", key, v, v)
	}
	return b, nil
}

// ID is the env's registered id.
func (e *Env) ID() string { return e.id }

// ObservationSpace is Box(0, 1) of shape (10, 10, C).
func (e *Env) ObservationSpace() envs.Space { return e.obsSpace }

// ActionSpace is Discrete(6), or Discrete(len(minimal set)).
func (e *Env) ActionSpace() envs.Space { return envs.Discrete{N: len(e.actions)} }

// Actions returns the full-set action (0 no-op, 1 left, 2 up, 3 right,
// 4 down, 5 fire) behind each action index.
func (e *Env) Actions() []int { return append([]int(nil), e.actions...) }

// Reset starts an episode; see the package documentation for seeds.
func (e *Env) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		e.Rand.Seed(*seed)
		e.LastAction = actNoop
	}
	e.Game.Reset(e.Rand)
	return e.observe(), nil, nil
}

// Step is Environment.act: with probability sticky_action_prob (one draw
// every step) the previous action is repeated. Stepping a finished game
// returns reward 0 and Terminated again, as MinAtar.
func (e *Env) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, len(e.actions)); err != nil {
		return envs.StepResult{}, fmt.Errorf("%s: %w", e.id, err)
	}
	act := e.actions[a.Discrete]
	if e.Rand.RandomSample() < e.sticky {
		act = e.LastAction
	}
	e.LastAction = act
	r, t := e.Game.Act(act, e.Rand)
	return envs.StepResult{Obs: e.observe(), Reward: float64(r), Terminated: t}, nil
}

func (e *Env) observe() []float32 {
	clear(e.obs)
	e.Game.Render(e.obs)
	return e.obs
}

// Close does nothing.
func (e *Env) Close() error { return nil }

// snapshotMagic starts every snapshot; the digit is the format's version.
const snapshotMagic = "minatar1"

// Snapshot saves the game, the random source and the last action
// (envs.Snapshotter).
func (e *Env) Snapshot() ([]byte, error) {
	en := &enc{b: make([]byte, 0, 256+randomStateSize)}
	en.b = append(en.b, snapshotMagic...)
	en.b = append(en.b, e.Game.Name()...)
	en.b = append(en.b, 0)
	en.int(e.LastAction)
	en.b = e.Rand.appendState(en.b)
	e.Game.encode(en)
	return en.b, nil
}

// Restore returns the env to a Snapshot of the same game. The options
// (sticky probability, ramping, action set) are the env's own, not the
// snapshot's. Bytes it cannot use are rejected with an error and leave the
// env unchanged.
func (e *Env) Restore(b []byte) error {
	head := snapshotMagic + e.Game.Name() + "\x00"
	if len(b) < len(head) || string(b[:len(head)]) != head {
		return fmt.Errorf("%s: restore: %w: not a snapshot of %s", e.id, errCorrupt, e.Game.Name())
	}
	d := &dec{b: b[len(head):]}
	last := d.intIn("last action", 0, numActions-1)
	if d.err == nil && len(d.b) < randomStateSize {
		d.fail("random state truncated")
	}
	var rng RandomState
	if d.err == nil {
		if err := rng.UnmarshalBinary(d.b[:randomStateSize]); err != nil {
			d.fail("%v", err)
		}
		d.b = d.b[randomStateSize:]
	}
	g := games[e.gameIndex()].new(e.ramping)
	g.decode(d)
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes left over", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%s: restore: %w", e.id, d.err)
	}
	e.Game, e.LastAction = g, last
	*e.Rand = rng
	return nil
}

func (e *Env) gameIndex() int {
	for i, g := range games {
		if g.id == e.id {
			return i
		}
	}
	panic(errors.New("minatar: env of unknown id " + e.id))
}

// set marks cell (y, x) of channel c in a (10, 10, C) observation, indexing
// as NumPy does (-10..-1 count from the end); an index NumPy would reject
// cannot occur in MinAtar's games and is ignored.
func set(obs []float32, nc, y, x, c int) {
	if y < 0 {
		y += 10
	}
	if x < 0 {
		x += 10
	}
	if uint(y) < 10 && uint(x) < 10 {
		obs[(y*10+x)*nc+c] = 1
	}
}
