package minatar

// Freeway constants (minatar/environments/freeway.py).
const (
	freewayPlayerSpeed = 3
	freewayTimeLimit   = 2500
)

// FreewayCar is Python's car [x, y, timer, speed]: it moves one cell every
// |Speed|+1 frames, right when Speed > 0.
type FreewayCar struct {
	X, Y, Timer, Speed int
}

// Freeway is MinAtar's Freeway: the chicken crosses eight lanes of cars
// from the bottom row to the top, moving at most every 3 frames. +1 per
// crossing (the car speeds are then redrawn); a car sends the chicken back
// to the bottom. The game ends after 2500 frames.
type Freeway struct {
	Cars           [8]FreewayCar
	Pos            int
	MoveTimer      int
	TerminateTimer int
	Terminal       bool
}

// Name is MinAtar's module name.
func (g *Freeway) Name() string { return "freeway" }

// Channels: chicken, car, speed1..speed5 (the trail's channel is the car's speed).
func (g *Freeway) Channels() int { return 7 }

// MinimalActions: n, u, d.
func (g *Freeway) MinimalActions() []int { return []int{actNoop, actUp, actDown} }

// Reset draws the cars' speeds and puts the chicken at the bottom.
func (g *Freeway) Reset(rng *RandomState) {
	g.randomizeCars(rng, true)
	g.Pos = 9
	g.MoveTimer = freewayPlayerSpeed
	g.TerminateTimer = freewayTimeLimit
	g.Terminal = false
}

// randomizeCars is _randomize_cars: randint(1, 6, 8) speeds, then the
// signs of rand(8) - 0.5 as directions.
func (g *Freeway) randomizeCars(rng *RandomState, initialize bool) {
	var speeds [8]int
	for i := range speeds {
		speeds[i] = int(rng.RandInt(1, 6))
	}
	for i := range speeds {
		switch u := rng.RandomSample() - 0.5; {
		case u < 0:
			speeds[i] = -speeds[i]
		case u == 0:
			speeds[i] = 0 // np.sign(0): a chance of 2⁻⁵³
		}
	}
	for i, s := range speeds {
		if initialize {
			g.Cars[i] = FreewayCar{X: 0, Y: i + 1, Timer: abs(s), Speed: s}
		} else {
			g.Cars[i].Timer, g.Cars[i].Speed = abs(s), s
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Act is Env.act.
func (g *Freeway) Act(a int, rng *RandomState) (int, bool) {
	r := 0
	if g.Terminal {
		return r, g.Terminal
	}
	if a == actUp && g.MoveTimer == 0 {
		g.MoveTimer = freewayPlayerSpeed
		g.Pos = max(0, g.Pos-1)
	} else if a == actDown && g.MoveTimer == 0 {
		g.MoveTimer = freewayPlayerSpeed
		g.Pos = min(9, g.Pos+1)
	}
	if g.Pos == 0 {
		r++
		g.randomizeCars(rng, false)
		g.Pos = 9
	}
	for i := range g.Cars {
		c := &g.Cars[i]
		if c.X == 4 && c.Y == g.Pos {
			g.Pos = 9
		}
		if c.Timer == 0 {
			c.Timer = abs(c.Speed)
			if c.Speed > 0 {
				c.X++
			} else {
				c.X--
			}
			if c.X < 0 {
				c.X = 9
			} else if c.X > 9 {
				c.X = 0
			}
			if c.X == 4 && c.Y == g.Pos {
				g.Pos = 9
			}
		} else {
			c.Timer--
		}
	}
	if g.MoveTimer > 0 {
		g.MoveTimer--
	}
	g.TerminateTimer--
	if g.TerminateTimer < 0 {
		g.Terminal = true
	}
	return r, g.Terminal
}

// Render is Env.state.
func (g *Freeway) Render(obs []float32) {
	const nc = 7
	set(obs, nc, g.Pos, 4, 0)
	trail := -1 // Python's local 'trail' carries over from the previous car
	for _, c := range g.Cars {
		set(obs, nc, c.Y, c.X, 1)
		back := c.X + 1
		if c.Speed > 0 {
			back = c.X - 1
		}
		if back < 0 {
			back = 9
		} else if back > 9 {
			back = 0
		}
		if s := abs(c.Speed); s >= 1 && s <= 5 {
			trail = s + 1
		}
		if trail >= 0 { // a first car of speed 0 would raise NameError in Python
			set(obs, nc, c.Y, back, trail)
		}
	}
}

func (g *Freeway) encode(e *enc) {
	for _, c := range g.Cars {
		e.int(c.X)
		e.int(c.Y)
		e.int(c.Timer)
		e.int(c.Speed)
	}
	e.int(g.Pos)
	e.int(g.MoveTimer)
	e.int(g.TerminateTimer)
	e.bool(g.Terminal)
}

func (g *Freeway) decode(d *dec) {
	for i := range g.Cars {
		c := &g.Cars[i]
		c.X = d.intIn("car x", 0, 9)
		c.Y = d.intIn("car y", 0, 9)
		c.Timer = d.intIn("car timer", 0, 5)
		c.Speed = d.intIn("car speed", -5, 5)
	}
	g.Pos = d.intIn("chicken", 0, 9)
	g.MoveTimer = d.intIn("move timer", 0, freewayPlayerSpeed)
	g.TerminateTimer = d.int()
	g.Terminal = d.bool()
}
