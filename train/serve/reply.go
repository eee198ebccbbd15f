package serve

import "strconv"

// appendReply writes c's answer as JSON onto b: action (or actions, for
// a request with observations), version, and the probabilities,
// Q-values, or Gaussian mean and σ asked for. It allocates nothing when b
// has room.
func appendReply(b []byte, c *call) []byte {
	b = append(b, '{')
	if c.batch {
		b = append(b, `"actions":[`...)
		for i := 0; i < c.rows; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.appendAction(b, i)
		}
		b = append(b, ']')
	} else {
		b = append(b, `"action":`...)
		b = c.appendAction(b, 0)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, c.version, 10)
	switch {
	case c.probs && c.actDim > 0:
		b = c.appendExtra(b, `,"mean":`, 2*c.actDim, 0, c.actDim)
		b = c.appendExtra(b, `,"std":`, 2*c.actDim, c.actDim, c.actDim)
	case c.probs:
		b = c.appendExtra(b, `,"probs":`, c.numAct, 0, c.numAct)
	case c.qValues:
		b = c.appendExtra(b, `,"q_values":`, c.numAct, 0, c.numAct)
	}
	return append(b, '}')
}

func (c *call) appendAction(b []byte, i int) []byte {
	if c.actDim == 0 {
		return strconv.AppendInt(b, int64(c.actions[i]), 10)
	}
	return appendFloats(b, c.cont[i*c.actDim:(i+1)*c.actDim])
}

// appendExtra writes key and, per row, width values of c.extra from off
// (a list per row for a batch, one list otherwise).
func (c *call) appendExtra(b []byte, key string, stride, off, width int) []byte {
	b = append(b, key...)
	if !c.batch {
		return appendFloats(b, c.extra[off:off+width])
	}
	b = append(b, '[')
	for i := 0; i < c.rows; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloats(b, c.extra[i*stride+off:i*stride+off+width])
	}
	return append(b, ']')
}

func appendFloats(b []byte, x []float32) []byte {
	b = append(b, '[')
	for j, v := range x {
		if j > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, ']')
}
