package minatar

// Space Invaders constants (minatar/environments/space_invaders.py).
const (
	invadersShotCoolDown      = 5
	invadersEnemyMoveInterval = 12
	invadersEnemyShotInterval = 10
)

// SpaceInvaders is MinAtar's Space Invaders: a cannon on the bottom row
// shoots at a block of aliens that sweeps sideways and steps down at the
// edges, faster as fewer remain. +1 per alien; a cleared wave is replaced
// (faster, with ramping). The game ends when an alien or its bullet
// reaches the cannon.
type SpaceInvaders struct {
	Ramping bool
	// Pos is the cannon's column.
	Pos int
	// FBullets, EBullets and Aliens are f_bullet_map, e_bullet_map and
	// alien_map, indexed [y][x].
	FBullets, EBullets, Aliens [10][10]bool
	// AlienDir is -1 (left) or +1 (right).
	AlienDir          int
	EnemyMoveInterval int
	AlienMoveTimer    int
	AlienShotTimer    int
	RampIndex         int
	ShotTimer         int
	Terminal          bool
}

// Name is MinAtar's module name.
func (g *SpaceInvaders) Name() string { return "space_invaders" }

// Channels: cannon, alien, alien_left, alien_right, friendly_bullet, enemy_bullet.
func (g *SpaceInvaders) Channels() int { return 6 }

// MinimalActions: n, l, r, f.
func (g *SpaceInvaders) MinimalActions() []int { return []int{actNoop, actLeft, actRight, actFire} }

// Reset places a fresh wave.
func (g *SpaceInvaders) Reset(*RandomState) {
	g.Pos = 5
	g.FBullets = [10][10]bool{}
	g.EBullets = [10][10]bool{}
	g.Aliens = [10][10]bool{}
	g.newWave()
	g.AlienDir = -1
	g.EnemyMoveInterval = invadersEnemyMoveInterval
	g.AlienMoveTimer = g.EnemyMoveInterval
	g.AlienShotTimer = invadersEnemyShotInterval
	g.RampIndex = 0
	g.ShotTimer = 0
	g.Terminal = false
}

func (g *SpaceInvaders) newWave() {
	for y := 0; y < 4; y++ {
		for x := 2; x < 8; x++ {
			g.Aliens[y][x] = true
		}
	}
}

func (g *SpaceInvaders) aliensInColumn(x int) bool {
	for y := range g.Aliens {
		if g.Aliens[y][x] {
			return true
		}
	}
	return false
}

func (g *SpaceInvaders) aliensLeft() int {
	n := 0
	for y := range g.Aliens {
		for _, a := range g.Aliens[y] {
			if a {
				n++
			}
		}
	}
	return n
}

// Act is Env.act.
func (g *SpaceInvaders) Act(a int, _ *RandomState) (int, bool) {
	r := 0
	if g.Terminal {
		return r, g.Terminal
	}
	switch {
	case a == actFire && g.ShotTimer == 0:
		g.FBullets[9][g.Pos] = true
		g.ShotTimer = invadersShotCoolDown
	case a == actLeft:
		g.Pos = max(0, g.Pos-1)
	case a == actRight:
		g.Pos = min(9, g.Pos+1)
	}

	// np.roll(f, -1, axis=0) then clear row 9; np.roll(e, 1, axis=0) then clear row 0.
	copy(g.FBullets[:9], g.FBullets[1:])
	g.FBullets[9] = [10]bool{}
	copy(g.EBullets[1:], g.EBullets[:9])
	g.EBullets[0] = [10]bool{}
	if g.EBullets[9][g.Pos] {
		g.Terminal = true
	}

	if g.Aliens[9][g.Pos] {
		g.Terminal = true
	}
	if g.AlienMoveTimer == 0 {
		g.AlienMoveTimer = min(g.aliensLeft(), g.EnemyMoveInterval)
		if (g.aliensInColumn(0) && g.AlienDir < 0) || (g.aliensInColumn(9) && g.AlienDir > 0) {
			g.AlienDir = -g.AlienDir
			for _, a := range g.Aliens[9] {
				if a {
					g.Terminal = true
				}
			}
			last := g.Aliens[9] // np.roll(alien_map, 1, axis=0) wraps the bottom row to the top
			copy(g.Aliens[1:], g.Aliens[:9])
			g.Aliens[0] = last
		} else {
			for y := range g.Aliens {
				row := g.Aliens[y]
				for x := range row {
					g.Aliens[y][((x+g.AlienDir)%10+10)%10] = row[x]
				}
			}
		}
		if g.Aliens[9][g.Pos] {
			g.Terminal = true
		}
	}
	if g.AlienShotTimer == 0 {
		g.AlienShotTimer = invadersEnemyShotInterval
		if y, x, ok := g.nearestAlien(g.Pos); ok {
			g.EBullets[y][x] = true
		}
	}

	for y := range g.Aliens {
		for x := range g.Aliens[y] {
			if g.Aliens[y][x] && g.FBullets[y][x] {
				r++
				g.Aliens[y][x], g.FBullets[y][x] = false, false
			}
		}
	}

	if g.ShotTimer > 0 {
		g.ShotTimer--
	}
	g.AlienMoveTimer--
	g.AlienShotTimer--
	if g.aliensLeft() == 0 {
		if g.EnemyMoveInterval > 6 && g.Ramping {
			g.EnemyMoveInterval--
			g.RampIndex++
		}
		g.newWave()
	}
	return r, g.Terminal
}

// nearestAlien is _nearest_alien: the columns by distance from pos (the
// left one first on a tie, as Python's stable sort), and in the first with
// an alien, its lowest alien. There is always one in MinAtar's play.
func (g *SpaceInvaders) nearestAlien(pos int) (y, x int, ok bool) {
	for d := 0; d < 10; d++ {
		for k, x := range [2]int{pos - d, pos + d} {
			if x < 0 || x > 9 || (d == 0 && k == 1) {
				continue
			}
			for y := 9; y >= 0; y-- {
				if g.Aliens[y][x] {
					return y, x, true
				}
			}
		}
	}
	return 0, 0, false
}

// Render is Env.state.
func (g *SpaceInvaders) Render(obs []float32) {
	const nc = 6
	set(obs, nc, 9, g.Pos, 0)
	dirChannel := 3
	if g.AlienDir < 0 {
		dirChannel = 2
	}
	for y := 0; y < 10; y++ {
		for x := 0; x < 10; x++ {
			i := (y*10 + x) * nc
			if g.Aliens[y][x] {
				obs[i+1] = 1
				obs[i+dirChannel] = 1
			}
			if g.FBullets[y][x] {
				obs[i+4] = 1
			}
			if g.EBullets[y][x] {
				obs[i+5] = 1
			}
		}
	}
}

func (g *SpaceInvaders) encode(e *enc) {
	for _, v := range []int{g.Pos, g.AlienDir, g.EnemyMoveInterval, g.AlienMoveTimer, g.AlienShotTimer, g.RampIndex, g.ShotTimer} {
		e.int(v)
	}
	e.bool(g.Terminal)
	e.grid(&g.FBullets)
	e.grid(&g.EBullets)
	e.grid(&g.Aliens)
}

func (g *SpaceInvaders) decode(d *dec) {
	g.Pos = d.intIn("cannon", 0, 9)
	g.AlienDir = d.intIn("alien direction", -1, 1)
	g.EnemyMoveInterval = d.intIn("move interval", 1, invadersEnemyMoveInterval)
	g.AlienMoveTimer = d.intIn("alien move timer", -1, invadersEnemyMoveInterval)
	g.AlienShotTimer = d.intIn("alien shot timer", 0, invadersEnemyShotInterval)
	g.RampIndex = d.intIn("ramp index", 0, 1<<30)
	g.ShotTimer = d.intIn("shot timer", 0, invadersShotCoolDown)
	g.Terminal = d.bool()
	d.grid(&g.FBullets)
	d.grid(&g.EBullets)
	d.grid(&g.Aliens)
	if d.err == nil && g.AlienDir == 0 {
		d.fail("alien direction 0")
	}
}
