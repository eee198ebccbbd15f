// Package gridworld is a complete custom environment for rlgo, written as
// a user would write one in their own module: a 5×5 grid world with walls,
// where the agent walks to a goal. Importing the package registers it as
// GridWorld-v0, so envs.Make, ppo.New and every rltrain command (in a
// binary that imports it) can use it. docs/custom-envs.md walks through it.
//
// The grid, with the goal G in the bottom-right corner and walls #:
//
//	. . . . .
//	. # # . .
//	. . . # .
//	# # . # .
//	. . . . G
//
// Each episode starts in a free cell drawn uniformly from the env's seeded
// random source. Actions are Discrete(4): 0 up, 1 right, 2 down, 3 left; a
// move into a wall or off the grid leaves the agent where it is. Every step
// costs StepCost (0.01), except the step that reaches the goal, which earns
// +1 and terminates the episode. The registry's time limit truncates an
// episode after 100 steps. The observation is the agent's cell, one-hot:
// a Box of 25 values in [0, 1], shape (5, 5), row-major.
package gridworld

import (
	"fmt"

	"github.com/rlgo/rlgo/envs"
)

// ID is the id the package registers the env under.
const ID = "GridWorld-v0"

const (
	// Size is the side of the square grid.
	Size = 5
	// MaxEpisodeSteps is the registered time limit.
	MaxEpisodeSteps = 100
	// DefaultStepCost is what each step costs unless the step_cost option
	// says otherwise.
	DefaultStepCost = 0.01
)

// Layout is the grid, row 0 at the top: '#' is a wall, 'G' the goal.
var Layout = [Size]string{
	".....",
	".##..",
	"...#.",
	"##.#.",
	"....G",
}

// The actions.
const (
	Up = iota
	Right
	Down
	Left
)

func init() {
	// Register once, at import: envs.Make(ID, opts) then calls New and wraps
	// the env in a TimeLimit of MaxEpisodeSteps, as gym.make does.
	envs.MustRegister(envs.Spec{
		ID:              ID,
		New:             func(opts envs.Options) (envs.Env, error) { return New(opts) },
		MaxEpisodeSteps: MaxEpisodeSteps,
		RewardThreshold: 0.9,
		HasThreshold:    true,
		Description:     "walk a 5x5 grid with walls to the goal; one-hot Box(25) obs, Discrete(4) actions, 100 steps (examples/customenv)",
	})
}

// GridWorld is the env. Its exported fields are its state, which tests may
// read and set.
type GridWorld struct {
	// Row and Col are the agent's cell, (0, 0) at the top left.
	Row, Col int
	// StepCost is the cost of a step that does not reach the goal.
	StepCost float64

	rng   *envs.RNG // a seeded source whose state Snapshot can save
	space *envs.Box
	obs   [Size * Size]float32 // reused: the contract lets the env own it
	free  [][2]int             // the cells an episode may start in
}

// New returns a GridWorld. Its one option, step_cost (a number ≥ 0,
// default 0.01), sets StepCost; any other option is an error, so that a
// typo in a config does not go unnoticed.
func New(opts envs.Options) (*GridWorld, error) {
	if err := envs.UnknownOptions(opts, "step_cost"); err != nil {
		return nil, fmt.Errorf("GridWorld: %w", err)
	}
	cost, err := envs.FloatOption(opts, "step_cost", DefaultStepCost)
	if err != nil {
		return nil, fmt.Errorf("GridWorld: %w", err)
	}
	if !(cost >= 0 && cost <= 1) {
		return nil, fmt.Errorf("GridWorld: option step_cost %v: want a number in [0, 1]", cost)
	}
	g := &GridWorld{
		StepCost: cost,
		// A fixed default seed: an env never draws from a global source, so a
		// run is reproducible even before the first Reset(seed).
		rng:   envs.NewRNG(0, 0),
		space: envs.UniformBox(Size*Size, 0, 1),
	}
	g.space.Dims = []int{Size, Size}
	for r, row := range Layout {
		for c, cell := range row {
			if cell == '.' {
				g.free = append(g.free, [2]int{r, c})
			}
		}
	}
	return g, nil
}

// ObservationSpace is a Box of 25 values in [0, 1], shape (5, 5).
func (g *GridWorld) ObservationSpace() envs.Space { return g.space }

// ActionSpace is Discrete(4): Up, Right, Down, Left.
func (g *GridWorld) ActionSpace() envs.Space { return envs.Discrete{N: 4} }

// Reset puts the agent in a random free cell. A non-nil seed reseeds the
// random source first; a nil seed continues it, so that a run seeded once
// is reproducible across its many episodes.
func (g *GridWorld) Reset(seed *uint64) ([]float32, envs.Info, error) {
	if seed != nil {
		g.rng = envs.NewRNG(*seed, 0)
	}
	cell := g.free[g.rng.IntN(len(g.free))]
	g.Row, g.Col = cell[0], cell[1]
	return g.observe(), nil, nil
}

// Step moves the agent. An action outside Discrete(4) is an error (wrapping
// envs.ErrInvalidAction), never a panic.
func (g *GridWorld) Step(a envs.Action) (envs.StepResult, error) {
	if err := envs.CheckDiscreteAction(a, 4); err != nil {
		return envs.StepResult{}, fmt.Errorf("GridWorld: %w", err)
	}
	r, c := g.Row, g.Col
	switch a.Discrete {
	case Up:
		r--
	case Right:
		c++
	case Down:
		r++
	case Left:
		c--
	}
	// The step info carries values a config can declare as custom episode
	// metrics (env.metrics): "bumped" when the move hit a wall or the edge,
	// "goal" when the agent reached the goal.
	var info envs.Info
	if r >= 0 && r < Size && c >= 0 && c < Size && Layout[r][c] != '#' {
		g.Row, g.Col = r, c
	} else {
		info = envs.Info{"bumped": true}
	}
	// Reaching the goal is a terminal state of the task: Terminated. The
	// 100-step limit is not part of the task, so the registry's TimeLimit
	// reports it as Truncated and learners bootstrap from the last state.
	if Layout[g.Row][g.Col] == 'G' {
		return envs.StepResult{Obs: g.observe(), Reward: 1, Terminated: true, Info: envs.Info{"goal": 1.0}}, nil
	}
	return envs.StepResult{Obs: g.observe(), Reward: -g.StepCost, Info: info}, nil
}

// observe writes the one-hot observation into the env's buffer. The caller
// may read it until the next Reset or Step, and copies it to keep it.
func (g *GridWorld) observe() []float32 {
	clear(g.obs[:])
	g.obs[g.Row*Size+g.Col] = 1
	return g.obs[:]
}

// Close does nothing: the env holds no resources.
func (g *GridWorld) Close() error { return nil }

// Render draws the grid with the agent as A, one row a line.
func (g *GridWorld) Render() string {
	var b []byte
	for r, row := range Layout {
		for c := range row {
			ch := row[c]
			if r == g.Row && c == g.Col {
				ch = 'A'
			}
			b = append(b, ch)
		}
		b = append(b, '\n')
	}
	return string(b)
}

// Snapshot saves the agent's cell and the random source, so that a
// checkpointed run resumes mid-episode (envs.Snapshotter, optional: an env
// without it resumes with fresh episodes).
func (g *GridWorld) Snapshot() ([]byte, error) {
	rng, err := g.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(g.Row), byte(g.Col)}, rng...), nil
}

// Restore returns the env to a Snapshot. Bytes it cannot use are an
// error, never a panic.
func (g *GridWorld) Restore(b []byte) error {
	if len(b) < 2 || int(b[0]) >= Size || int(b[1]) >= Size || Layout[b[0]][b[1]] == '#' {
		return fmt.Errorf("GridWorld: restore: not a GridWorld snapshot")
	}
	if err := g.rng.UnmarshalBinary(b[2:]); err != nil {
		return fmt.Errorf("GridWorld: %w", err)
	}
	g.Row, g.Col = int(b[0]), int(b[1])
	return nil
}
