package minatar

// Breakout is MinAtar's Breakout: a paddle on the bottom row bounces a ball
// that travels diagonally into three rows of bricks. +1 per brick; when
// the bricks are gone and the ball reaches the bottom, three new rows
// appear. The game ends when the ball reaches the bottom past the paddle.
type Breakout struct {
	BallX, BallY int
	// BallDir is 0 up-left, 1 up-right, 2 down-right, 3 down-left.
	BallDir int
	// Pos is the paddle's column.
	Pos int
	// Bricks is brick_map, indexed [y][x].
	Bricks       [10][10]bool
	Strike       bool
	LastX, LastY int
	Terminal     bool
}

// Name is MinAtar's module name.
func (g *Breakout) Name() string { return "breakout" }

// Channels: paddle, ball, trail, brick.
func (g *Breakout) Channels() int { return 4 }

// MinimalActions: n, l, r.
func (g *Breakout) MinimalActions() []int { return []int{actNoop, actLeft, actRight} }

// Reset draws the ball's starting corner (randint(2)).
func (g *Breakout) Reset(rng *RandomState) {
	g.BallY = 3
	if rng.RandInt(0, 2) == 0 {
		g.BallX, g.BallDir = 0, 2
	} else {
		g.BallX, g.BallDir = 9, 3
	}
	g.Pos = 4
	g.Bricks = [10][10]bool{}
	g.fillBricks()
	g.Strike = false
	g.LastX, g.LastY = g.BallX, g.BallY
	g.Terminal = false
}

func (g *Breakout) fillBricks() {
	for y := 1; y < 4; y++ {
		for x := range g.Bricks[y] {
			g.Bricks[y][x] = true
		}
	}
}

// Act is Env.act.
func (g *Breakout) Act(a int, _ *RandomState) (int, bool) {
	r := 0
	if g.Terminal {
		return r, g.Terminal
	}
	switch a {
	case actLeft:
		g.Pos = max(0, g.Pos-1)
	case actRight:
		g.Pos = min(9, g.Pos+1)
	}
	g.LastX, g.LastY = g.BallX, g.BallY
	var newX, newY int
	switch g.BallDir {
	case 0:
		newX, newY = g.BallX-1, g.BallY-1
	case 1:
		newX, newY = g.BallX+1, g.BallY-1
	case 2:
		newX, newY = g.BallX+1, g.BallY+1
	case 3:
		newX, newY = g.BallX-1, g.BallY+1
	}
	strikeToggle := false
	if newX < 0 || newX > 9 {
		newX = min(max(newX, 0), 9)
		g.BallDir = [4]int{1, 0, 3, 2}[g.BallDir]
	}
	switch {
	case newY < 0:
		newY = 0
		g.BallDir = [4]int{3, 2, 1, 0}[g.BallDir]
	case g.Bricks[newY][newX]:
		strikeToggle = true
		if !g.Strike {
			r++
			g.Strike = true
			g.Bricks[newY][newX] = false
			newY = g.LastY
			g.BallDir = [4]int{3, 2, 1, 0}[g.BallDir]
		}
	case newY == 9:
		if g.noBricks() {
			g.fillBricks()
		}
		switch {
		case g.BallX == g.Pos:
			g.BallDir = [4]int{3, 2, 1, 0}[g.BallDir]
			newY = g.LastY
		case newX == g.Pos:
			g.BallDir = [4]int{2, 3, 0, 1}[g.BallDir]
			newY = g.LastY
		default:
			g.Terminal = true
		}
	}
	if !strikeToggle {
		g.Strike = false
	}
	g.BallX, g.BallY = newX, newY
	return r, g.Terminal
}

func (g *Breakout) noBricks() bool {
	for y := range g.Bricks {
		for _, b := range g.Bricks[y] {
			if b {
				return false
			}
		}
	}
	return true
}

// Render is Env.state.
func (g *Breakout) Render(obs []float32) {
	const nc = 4
	set(obs, nc, g.BallY, g.BallX, 1)
	set(obs, nc, 9, g.Pos, 0)
	set(obs, nc, g.LastY, g.LastX, 2)
	for y := range g.Bricks {
		for x, b := range g.Bricks[y] {
			if b {
				obs[(y*10+x)*nc+3] = 1
			}
		}
	}
}

func (g *Breakout) encode(e *enc) {
	for _, v := range []int{g.BallX, g.BallY, g.BallDir, g.Pos, g.LastX, g.LastY} {
		e.int(v)
	}
	e.bool(g.Strike)
	e.bool(g.Terminal)
	e.grid(&g.Bricks)
}

func (g *Breakout) decode(d *dec) {
	g.BallX = d.intIn("ball x", 0, 9)
	g.BallY = d.intIn("ball y", 0, 9)
	g.BallDir = d.intIn("ball direction", 0, 3)
	g.Pos = d.intIn("paddle", 0, 9)
	g.LastX = d.intIn("last x", 0, 9)
	g.LastY = d.intIn("last y", 0, 9)
	g.Strike = d.bool()
	g.Terminal = d.bool()
	d.grid(&g.Bricks)
	if d.err == nil && g.BallY == 9 && !g.Terminal {
		d.fail("ball on the bottom row of a running game")
	}
}
