package minatar

// Seaquest constants (minatar/environments/seaquest.py).
const (
	seaquestMaxOxygen         = 200
	seaquestInitSpawnSpeed    = 20
	seaquestDiverSpawnSpeed   = 30
	seaquestInitMoveInterval  = 5
	seaquestShotCoolDown      = 5
	seaquestEnemyShotInterval = 10
	seaquestDiverMoveInterval = 5
)

// SeaquestBullet is a friendly bullet [x, y, sub_or] or an enemy bullet
// [x, y, lr]: it travels right when Right.
type SeaquestBullet struct {
	X, Y  int
	Right bool
}

// SeaquestMover is an enemy fish or a diver: Python's [x, y, lr, timer].
type SeaquestMover struct {
	X, Y      int
	Right     bool
	MoveTimer int
}

// SeaquestSub is an enemy submarine: [x, y, lr, move timer, shot timer].
type SeaquestSub struct {
	X, Y      int
	Right     bool
	MoveTimer int
	ShotTimer int
}

// Seaquest is MinAtar's Seaquest: a two-cell submarine shoots enemy fish
// and submarines (+1 each), picks up divers and surfaces for oxygen. The
// game ends when the player is hit, runs out of oxygen or surfaces with no
// diver. Surfacing with six divers scores the remaining oxygen. With
// ramping, each surfacing speeds the enemies up.
//
// The lists hold pointers, as Python's lists hold references: MinAtar
// mutates its lists while iterating over them and removes by value
// (list.remove), and the port keeps those semantics exactly, including
// MinAtar's quirk of a diver count of -1 after a six-diver surfacing.
type Seaquest struct {
	Ramping     bool
	Oxygen      int
	DiverCount  int
	SubX, SubY  int
	SubOr       bool // facing right
	FBullets    []*SeaquestBullet
	EBullets    []*SeaquestBullet
	EFish       []*SeaquestMover
	ESubs       []*SeaquestSub
	Divers      []*SeaquestMover
	ESpawnSpeed int
	ESpawnTimer int
	DSpawnTimer int
	MoveSpeed   int
	RampIndex   int
	ShotTimer   int
	Surface     bool
	Terminal    bool

	bullets pool[SeaquestBullet]
	movers  pool[SeaquestMover]
	subs    pool[SeaquestSub]
}

// pool recycles list elements so that steps do not allocate. A removed
// element may still be used by the loop that removed it (as in Python),
// so it is only reused after the step.
type pool[T any] struct{ free, released []*T }

func (p *pool[T]) get(v T) *T {
	var x *T
	if n := len(p.free); n > 0 {
		x = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		x = new(T)
	}
	*x = v
	return x
}

func (p *pool[T]) release(x *T) { p.released = append(p.released, x) }

func (p *pool[T]) recycle() {
	p.free = append(p.free, p.released...)
	clear(p.released)
	p.released = p.released[:0]
}

// remove is Python's list.remove(v): it deletes the first element equal
// to v (by value, which need not be the element the caller holds).
func remove[T comparable](p *pool[T], list []*T, v T) []*T {
	for i, x := range list {
		if *x == v {
			p.release(x)
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	return list // not reached: MinAtar removes only elements of the list
}

// Name is MinAtar's module name.
func (g *Seaquest) Name() string { return "seaquest" }

// Channels: sub_front, sub_back, friendly_bullet, trail, enemy_bullet,
// enemy_fish, enemy_sub, oxygen_guage, diver_guage, diver.
func (g *Seaquest) Channels() int { return 10 }

// MinimalActions: all six.
func (g *Seaquest) MinimalActions() []int {
	return []int{actNoop, actLeft, actUp, actRight, actDown, actFire}
}

// Reset surfaces the submarine with full oxygen and empty seas.
func (g *Seaquest) Reset(*RandomState) {
	g.Oxygen = seaquestMaxOxygen
	g.DiverCount = 0
	g.SubX, g.SubY = 5, 0
	g.SubOr = false
	for _, x := range g.FBullets {
		g.bullets.release(x)
	}
	for _, x := range g.EBullets {
		g.bullets.release(x)
	}
	for _, x := range g.EFish {
		g.movers.release(x)
	}
	for _, x := range g.Divers {
		g.movers.release(x)
	}
	for _, x := range g.ESubs {
		g.subs.release(x)
	}
	g.bullets.recycle()
	g.movers.recycle()
	g.subs.recycle()
	clear(g.FBullets)
	clear(g.EBullets)
	clear(g.EFish)
	clear(g.Divers)
	clear(g.ESubs)
	g.FBullets, g.EBullets, g.EFish, g.Divers, g.ESubs = g.FBullets[:0], g.EBullets[:0], g.EFish[:0], g.Divers[:0], g.ESubs[:0]
	g.ESpawnSpeed = seaquestInitSpawnSpeed
	g.ESpawnTimer = g.ESpawnSpeed
	g.DSpawnTimer = seaquestDiverSpawnSpeed
	g.MoveSpeed = seaquestInitMoveInterval
	g.RampIndex = 0
	g.ShotTimer = 0
	g.Surface = true
	g.Terminal = false
}

func step(x int, right bool) int {
	if right {
		return x + 1
	}
	return x - 1
}

func (g *Seaquest) atSub(x, y int) bool { return x == g.SubX && y == g.SubY }

// Act is Env.act. Loops over reversed(list) run while the index is inside
// the (shrinking) list, as Python's reverse iterator does.
func (g *Seaquest) Act(a int, rng *RandomState) (int, bool) {
	r := 0
	if g.Terminal {
		return r, g.Terminal
	}
	if g.ESpawnTimer == 0 {
		g.spawnEnemy(rng)
		g.ESpawnTimer = g.ESpawnSpeed
	}
	if g.DSpawnTimer == 0 {
		g.spawnDiver(rng)
		g.DSpawnTimer = seaquestDiverSpawnSpeed
	}

	switch {
	case a == actFire && g.ShotTimer == 0:
		g.FBullets = append(g.FBullets, g.bullets.get(SeaquestBullet{g.SubX, g.SubY, g.SubOr}))
		g.ShotTimer = seaquestShotCoolDown
	case a == actLeft:
		g.SubX = max(0, g.SubX-1)
		g.SubOr = false
	case a == actRight:
		g.SubX = min(9, g.SubX+1)
		g.SubOr = true
	case a == actUp:
		g.SubY = max(0, g.SubY-1)
	case a == actDown:
		g.SubY = min(8, g.SubY+1)
	}

	// Friendly bullets.
	for i := len(g.FBullets) - 1; i >= 0 && i < len(g.FBullets); i-- {
		b := g.FBullets[i]
		b.X = step(b.X, b.Right)
		if b.X < 0 || b.X > 9 {
			g.FBullets = remove(&g.bullets, g.FBullets, *b)
			continue
		}
		removed := false
		for _, x := range g.EFish {
			if b.X == x.X && b.Y == x.Y {
				g.EFish = remove(&g.movers, g.EFish, *x)
				g.FBullets = remove(&g.bullets, g.FBullets, *b)
				r++
				removed = true
				break
			}
		}
		if !removed {
			for _, x := range g.ESubs {
				if b.X == x.X && b.Y == x.Y {
					g.ESubs = remove(&g.subs, g.ESubs, *x)
					g.FBullets = remove(&g.bullets, g.FBullets, *b)
					r++
					break
				}
			}
		}
	}

	// Divers.
	for i := len(g.Divers) - 1; i >= 0 && i < len(g.Divers); i-- {
		d := g.Divers[i]
		if g.atSub(d.X, d.Y) && g.DiverCount < 6 {
			g.Divers = remove(&g.movers, g.Divers, *d)
			g.DiverCount++
		} else if d.MoveTimer == 0 {
			d.MoveTimer = seaquestDiverMoveInterval
			d.X = step(d.X, d.Right)
			if d.X < 0 || d.X > 9 {
				g.Divers = remove(&g.movers, g.Divers, *d)
			} else if g.atSub(d.X, d.Y) && g.DiverCount < 6 {
				g.Divers = remove(&g.movers, g.Divers, *d)
				g.DiverCount++
			}
		} else {
			d.MoveTimer--
		}
	}

	// Enemy subs.
	for i := len(g.ESubs) - 1; i >= 0 && i < len(g.ESubs); i-- {
		s := g.ESubs[i]
		if g.atSub(s.X, s.Y) {
			g.Terminal = true
		}
		if s.MoveTimer == 0 {
			s.MoveTimer = g.MoveSpeed
			s.X = step(s.X, s.Right)
			switch {
			case s.X < 0 || s.X > 9:
				g.ESubs = remove(&g.subs, g.ESubs, *s)
			case g.atSub(s.X, s.Y):
				g.Terminal = true
			default:
				for _, x := range g.FBullets {
					if s.X == x.X && s.Y == x.Y {
						g.ESubs = remove(&g.subs, g.ESubs, *s)
						g.FBullets = remove(&g.bullets, g.FBullets, *x)
						r++
						break
					}
				}
			}
		} else {
			s.MoveTimer--
		}
		// A sub removed above still shoots, as in MinAtar.
		if s.ShotTimer == 0 {
			s.ShotTimer = seaquestEnemyShotInterval
			g.EBullets = append(g.EBullets, g.bullets.get(SeaquestBullet{s.X, s.Y, s.Right}))
		} else {
			s.ShotTimer--
		}
	}

	// Enemy bullets.
	for i := len(g.EBullets) - 1; i >= 0 && i < len(g.EBullets); i-- {
		b := g.EBullets[i]
		if g.atSub(b.X, b.Y) {
			g.Terminal = true
		}
		b.X = step(b.X, b.Right)
		if b.X < 0 || b.X > 9 {
			g.EBullets = remove(&g.bullets, g.EBullets, *b)
		} else if g.atSub(b.X, b.Y) {
			g.Terminal = true
		}
	}

	// Enemy fish.
	for i := len(g.EFish) - 1; i >= 0 && i < len(g.EFish); i-- {
		f := g.EFish[i]
		if g.atSub(f.X, f.Y) {
			g.Terminal = true
		}
		if f.MoveTimer == 0 {
			f.MoveTimer = g.MoveSpeed
			f.X = step(f.X, f.Right)
			switch {
			case f.X < 0 || f.X > 9:
				g.EFish = remove(&g.movers, g.EFish, *f)
			case g.atSub(f.X, f.Y):
				g.Terminal = true
			default:
				for _, x := range g.FBullets {
					if f.X == x.X && f.Y == x.Y {
						g.EFish = remove(&g.movers, g.EFish, *f)
						g.FBullets = remove(&g.bullets, g.FBullets, *x)
						r++
						break
					}
				}
			}
		} else {
			f.MoveTimer--
		}
	}

	// Timers, oxygen and surfacing.
	if g.ESpawnTimer > 0 {
		g.ESpawnTimer--
	}
	if g.DSpawnTimer > 0 {
		g.DSpawnTimer--
	}
	if g.ShotTimer > 0 {
		g.ShotTimer--
	}
	if g.Oxygen <= 0 {
		g.Terminal = true
	}
	if g.SubY > 0 {
		g.Oxygen--
		g.Surface = false
	} else if !g.Surface {
		if g.DiverCount == 0 {
			g.Terminal = true
		} else {
			r += g.surface()
		}
	}
	g.bullets.recycle()
	g.movers.recycle()
	g.subs.recycle()
	return r, g.Terminal
}

// surface is _surface.
func (g *Seaquest) surface() int {
	g.Surface = true
	r := 0
	if g.DiverCount == 6 {
		g.DiverCount = 0
		r = floorDiv(g.Oxygen*10, seaquestMaxOxygen)
	}
	g.Oxygen = seaquestMaxOxygen
	g.DiverCount-- // -1 after six divers: MinAtar's own arithmetic, kept
	if g.Ramping && (g.ESpawnSpeed > 1 || g.MoveSpeed > 2) {
		if g.MoveSpeed > 2 && g.RampIndex%2 != 0 {
			g.MoveSpeed--
		}
		if g.ESpawnSpeed > 1 {
			g.ESpawnSpeed--
		}
		g.RampIndex++
	}
	return r
}

// floorDiv is Python's // on ints.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// spawnEnemy is _spawn_enemy: two draws and a row; no spawn where it
// would meet an enemy coming the other way.
func (g *Seaquest) spawnEnemy(rng *RandomState) {
	lr := rng.RandomSample() < 1.0/2
	isSub := rng.RandomSample() < 1.0/3
	x := 9
	if lr {
		x = 0
	}
	y := int(rng.RandInt(1, 9))
	for _, z := range g.ESubs {
		if z.Y == y && z.Right != lr {
			return
		}
	}
	for _, z := range g.EFish {
		if z.Y == y && z.Right != lr {
			return
		}
	}
	if isSub {
		g.ESubs = append(g.ESubs, g.subs.get(SeaquestSub{x, y, lr, g.MoveSpeed, seaquestEnemyShotInterval}))
	} else {
		g.EFish = append(g.EFish, g.movers.get(SeaquestMover{x, y, lr, g.MoveSpeed}))
	}
}

// spawnDiver is _spawn_diver.
func (g *Seaquest) spawnDiver(rng *RandomState) {
	lr := rng.RandomSample() < 1.0/2
	x := 9
	if lr {
		x = 0
	}
	y := int(rng.RandInt(1, 9))
	g.Divers = append(g.Divers, g.movers.get(SeaquestMover{x, y, lr, seaquestDiverMoveInterval}))
}

// Render is Env.state.
func (g *Seaquest) Render(obs []float32) {
	const nc = 10
	set(obs, nc, g.SubY, g.SubX, 0)
	set(obs, nc, g.SubY, step(g.SubX, !g.SubOr), 1)
	for x := 0; x < max(0, g.Oxygen)*10/seaquestMaxOxygen; x++ {
		set(obs, nc, 9, x, 7)
	}
	for x := max(0, 9-g.DiverCount); x < 9; x++ {
		set(obs, nc, 9, x, 8)
	}
	for _, b := range g.FBullets {
		set(obs, nc, b.Y, b.X, 2)
	}
	for _, b := range g.EBullets {
		set(obs, nc, b.Y, b.X, 4)
	}
	trail := func(x, y int, right bool) {
		if back := step(x, !right); back >= 0 && back <= 9 {
			set(obs, nc, y, back, 3)
		}
	}
	for _, f := range g.EFish {
		set(obs, nc, f.Y, f.X, 5)
		trail(f.X, f.Y, f.Right)
	}
	for _, s := range g.ESubs {
		set(obs, nc, s.Y, s.X, 6)
		trail(s.X, s.Y, s.Right)
	}
	for _, d := range g.Divers {
		set(obs, nc, d.Y, d.X, 9)
		trail(d.X, d.Y, d.Right)
	}
}

func (g *Seaquest) encode(e *enc) {
	for _, v := range []int{g.Oxygen, g.DiverCount, g.SubX, g.SubY, g.ESpawnSpeed, g.ESpawnTimer, g.DSpawnTimer, g.MoveSpeed, g.RampIndex, g.ShotTimer} {
		e.int(v)
	}
	e.bool(g.SubOr)
	e.bool(g.Surface)
	e.bool(g.Terminal)
	for _, list := range [][]*SeaquestBullet{g.FBullets, g.EBullets} {
		e.int(len(list))
		for _, b := range list {
			e.int(b.X)
			e.int(b.Y)
			e.bool(b.Right)
		}
	}
	for _, list := range [][]*SeaquestMover{g.EFish, g.Divers} {
		e.int(len(list))
		for _, m := range list {
			e.int(m.X)
			e.int(m.Y)
			e.bool(m.Right)
			e.int(m.MoveTimer)
		}
	}
	e.int(len(g.ESubs))
	for _, s := range g.ESubs {
		e.int(s.X)
		e.int(s.Y)
		e.bool(s.Right)
		e.int(s.MoveTimer)
		e.int(s.ShotTimer)
	}
}

func (g *Seaquest) decode(d *dec) {
	g.Oxygen = d.intIn("oxygen", -1, seaquestMaxOxygen)
	g.DiverCount = d.intIn("diver count", -1<<30, 6)
	g.SubX = d.intIn("sub x", 0, 9)
	g.SubY = d.intIn("sub y", 0, 8)
	g.ESpawnSpeed = d.intIn("spawn speed", 1, seaquestInitSpawnSpeed)
	g.ESpawnTimer = d.intIn("spawn timer", 0, seaquestInitSpawnSpeed)
	g.DSpawnTimer = d.intIn("diver spawn timer", 0, seaquestDiverSpawnSpeed)
	g.MoveSpeed = d.intIn("move speed", 1, seaquestInitMoveInterval)
	g.RampIndex = d.intIn("ramp index", 0, 1<<30)
	g.ShotTimer = d.intIn("shot timer", 0, seaquestShotCoolDown)
	g.SubOr = d.bool()
	g.Surface = d.bool()
	g.Terminal = d.bool()
	for _, list := range []*[]*SeaquestBullet{&g.FBullets, &g.EBullets} {
		n := d.count("bullets", 3)
		for range n {
			*list = append(*list, &SeaquestBullet{X: d.intIn("bullet x", 0, 9), Y: d.intIn("bullet y", 0, 9), Right: d.bool()})
		}
	}
	for _, list := range []*[]*SeaquestMover{&g.EFish, &g.Divers} {
		n := d.count("fish or divers", 4)
		for range n {
			*list = append(*list, &SeaquestMover{X: d.intIn("x", 0, 9), Y: d.intIn("y", 0, 9), Right: d.bool(), MoveTimer: d.intIn("move timer", 0, seaquestDiverMoveInterval)})
		}
	}
	n := d.count("subs", 5)
	for range n {
		g.ESubs = append(g.ESubs, &SeaquestSub{X: d.intIn("x", 0, 9), Y: d.intIn("y", 0, 9), Right: d.bool(), MoveTimer: d.intIn("move timer", 0, seaquestInitMoveInterval), ShotTimer: d.intIn("shot timer", 0, seaquestEnemyShotInterval)})
	}
}
