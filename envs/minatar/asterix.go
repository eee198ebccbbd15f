package minatar

// Asterix constants (minatar/environments/asterix.py).
const (
	asterixRampInterval     = 100
	asterixInitSpawnSpeed   = 10
	asterixInitMoveInterval = 5
)

// AsterixEntity is an enemy or a treasure: Python's [x, y, lr, is_gold].
type AsterixEntity struct {
	// Live is false for an empty slot (Python's None).
	Live bool
	X, Y int
	// Right is the direction of travel (lr).
	Right bool
	// Gold marks a treasure; otherwise an enemy.
	Gold bool
}

// Asterix is MinAtar's Asterix: the player moves in four directions;
// enemies and treasure cross the rows from the sides. +1 for each treasure
// picked up; the game ends on contact with an enemy. With ramping, spawning
// and movement speed up every 100 frames.
type Asterix struct {
	Ramping          bool
	PlayerX, PlayerY int
	// Entities has one slot per row 1..8 (slot i travels row i+1).
	Entities    [8]AsterixEntity
	ShotTimer   int // reset but unused, as in MinAtar
	SpawnSpeed  int
	SpawnTimer  int
	MoveSpeed   int
	MoveTimer   int
	RampTimer   int
	RampIndex   int
	Terminal    bool
	slotOptions [8]int
}

// Name is MinAtar's module name.
func (g *Asterix) Name() string { return "asterix" }

// Channels: player, enemy, trail, gold.
func (g *Asterix) Channels() int { return 4 }

// MinimalActions: n, l, u, r, d.
func (g *Asterix) MinimalActions() []int { return []int{actNoop, actLeft, actUp, actRight, actDown} }

// Reset places the player in the middle and clears the rows.
func (g *Asterix) Reset(*RandomState) {
	g.PlayerX, g.PlayerY = 5, 5
	g.Entities = [8]AsterixEntity{}
	g.ShotTimer = 0
	g.SpawnSpeed = asterixInitSpawnSpeed
	g.SpawnTimer = g.SpawnSpeed
	g.MoveSpeed = asterixInitMoveInterval
	g.MoveTimer = g.MoveSpeed
	g.RampTimer = asterixRampInterval
	g.RampIndex = 0
	g.Terminal = false
}

// touch resolves contact between entity i and the player.
func (g *Asterix) touch(i int, r *int) {
	e := &g.Entities[i]
	if e.X == g.PlayerX && e.Y == g.PlayerY {
		if e.Gold {
			*e = AsterixEntity{} // None
			*r++
		} else {
			g.Terminal = true
		}
	}
}

// Act is Env.act.
func (g *Asterix) Act(a int, rng *RandomState) (int, bool) {
	r := 0
	if g.Terminal {
		return r, g.Terminal
	}
	if g.SpawnTimer == 0 {
		g.spawnEntity(rng)
		g.SpawnTimer = g.SpawnSpeed
	}
	switch a {
	case actLeft:
		g.PlayerX = max(0, g.PlayerX-1)
	case actRight:
		g.PlayerX = min(9, g.PlayerX+1)
	case actUp:
		g.PlayerY = max(1, g.PlayerY-1)
	case actDown:
		g.PlayerY = min(8, g.PlayerY+1)
	}
	for i := range g.Entities {
		if g.Entities[i].Live {
			g.touch(i, &r)
		}
	}
	if g.MoveTimer == 0 {
		g.MoveTimer = g.MoveSpeed
		for i := range g.Entities {
			e := &g.Entities[i]
			if !e.Live {
				continue
			}
			if e.Right {
				e.X++
			} else {
				e.X--
			}
			if e.X < 0 || e.X > 9 {
				*e = AsterixEntity{} // None: off screen, it cannot touch the player
				continue
			}
			g.touch(i, &r)
		}
	}
	g.SpawnTimer--
	g.MoveTimer--
	if g.Ramping && (g.SpawnSpeed > 1 || g.MoveSpeed > 1) {
		if g.RampTimer >= 0 {
			g.RampTimer--
		} else {
			if g.MoveSpeed > 1 && g.RampIndex%2 != 0 {
				g.MoveSpeed--
			}
			if g.SpawnSpeed > 1 {
				g.SpawnSpeed--
			}
			g.RampIndex++
			g.RampTimer = asterixRampInterval
		}
	}
	return r, g.Terminal
}

// spawnEntity is _spawn_entity: two draws, then a free row if any.
func (g *Asterix) spawnEntity(rng *RandomState) {
	lr := rng.RandomSample() < 1.0/2
	gold := rng.RandomSample() < 1.0/3
	x := 9
	if lr {
		x = 0
	}
	n := 0
	for i := range g.Entities {
		if !g.Entities[i].Live {
			g.slotOptions[n] = i
			n++
		}
	}
	if n == 0 {
		return
	}
	slot := g.slotOptions[rng.RandInt(0, int64(n))]
	g.Entities[slot] = AsterixEntity{Live: true, X: x, Y: slot + 1, Right: lr, Gold: gold}
}

// Render is Env.state.
func (g *Asterix) Render(obs []float32) {
	const nc = 4
	set(obs, nc, g.PlayerY, g.PlayerX, 0)
	for _, e := range g.Entities {
		if !e.Live {
			continue
		}
		c := 1
		if e.Gold {
			c = 3
		}
		set(obs, nc, e.Y, e.X, c)
		back := e.X + 1
		if e.Right {
			back = e.X - 1
		}
		if back >= 0 && back <= 9 {
			set(obs, nc, e.Y, back, 2)
		}
	}
}

func (g *Asterix) encode(e *enc) {
	for _, v := range []int{g.PlayerX, g.PlayerY, g.ShotTimer, g.SpawnSpeed, g.SpawnTimer, g.MoveSpeed, g.MoveTimer, g.RampTimer, g.RampIndex} {
		e.int(v)
	}
	e.bool(g.Terminal)
	for _, en := range g.Entities {
		e.bool(en.Live)
		e.int(en.X)
		e.int(en.Y)
		e.bool(en.Right)
		e.bool(en.Gold)
	}
}

func (g *Asterix) decode(d *dec) {
	g.PlayerX = d.intIn("player x", 0, 9)
	g.PlayerY = d.intIn("player y", 1, 8)
	g.ShotTimer = d.int()
	g.SpawnSpeed = d.intIn("spawn speed", 1, asterixInitSpawnSpeed)
	g.SpawnTimer = d.int()
	g.MoveSpeed = d.intIn("move speed", 1, asterixInitMoveInterval)
	g.MoveTimer = d.int()
	g.RampTimer = d.int()
	g.RampIndex = d.intIn("ramp index", 0, 1<<30)
	g.Terminal = d.bool()
	for i := range g.Entities {
		en := &g.Entities[i]
		en.Live = d.bool()
		en.X = d.intIn("entity x", 0, 9)
		en.Y = d.intIn("entity y", 0, 9)
		en.Right = d.bool()
		en.Gold = d.bool()
	}
}
