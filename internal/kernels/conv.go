package kernels

// Convolution as a product: im2col lays each output position's receptive
// field out as one row, so that a 2-D convolution over a batch of
// channels-last images is one GemmNN of the rows with the filters
// ([K·K·C, F]), and its output is already channels-last ([batch, OH, OW,
// F]). Col2Im is the adjoint, for the gradient with respect to the input.

// ConvGeom is the geometry of one 2-D convolution over channels-last
// images: inputs [H, W, C], square K×K kernels moved by Stride, Pad zeros
// on every side, outputs [OH, OW, ·].
type ConvGeom struct {
	H, W, C, K, Stride, Pad int
	OH, OW                  int
}

// NewConvGeom returns the geometry of a K×K convolution with the given
// stride and padding over h×w×c inputs; OH or OW is below 1 when the
// kernel does not fit.
func NewConvGeom(h, w, c, k, stride, pad int) ConvGeom {
	return ConvGeom{
		H: h, W: w, C: c, K: k, Stride: stride, Pad: pad,
		OH: (h+2*pad-k)/stride + 1, OW: (w+2*pad-k)/stride + 1,
	}
}

// Patch is the length of one receptive field, K·K·C: a row of Im2Col's
// output and a row count of the filter matrix.
func (g ConvGeom) Patch() int { return g.K * g.K * g.C }

// Positions is the number of output positions per image, OH·OW.
func (g ConvGeom) Positions() int { return g.OH * g.OW }

// Im2Col writes the receptive field of every output position of batch
// images x ([batch, H, W, C], row-major) into cols ([batch·OH·OW, K·K·C]):
// row (b·OH + oh)·OW + ow holds x[b, oh·S−P+kh, ow·S−P+kw, c] at column
// (kh·K + kw)·C + c, and zero where that position is padding.
func Im2Col(g ConvGeom, batch int, x, cols []float32) {
	img, rowLen, kc, p := g.H*g.W*g.C, g.W*g.C, g.K*g.C, g.Patch()
	x, cols = x[:batch*img], cols[:batch*g.Positions()*p]
	r := 0
	for b := 0; b < batch; b++ {
		xb := x[b*img : (b+1)*img]
		for oh := 0; oh < g.OH; oh++ {
			ih0 := oh*g.Stride - g.Pad
			for ow := 0; ow < g.OW; ow++ {
				iw0 := ow*g.Stride - g.Pad
				dst := cols[r*p : (r+1)*p]
				r++
				inside := iw0 >= 0 && iw0+g.K <= g.W
				for kh := 0; kh < g.K; kh++ {
					seg := dst[kh*kc : (kh+1)*kc]
					ih := ih0 + kh
					if ih < 0 || ih >= g.H {
						clear(seg)
						continue
					}
					xr := xb[ih*rowLen : (ih+1)*rowLen]
					if inside { // the K·C values are contiguous in x
						copy(seg, xr[iw0*g.C:(iw0+g.K)*g.C])
						continue
					}
					for kw := 0; kw < g.K; kw++ {
						s := seg[kw*g.C : (kw+1)*g.C]
						if iw := iw0 + kw; iw < 0 || iw >= g.W {
							clear(s)
						} else {
							copy(s, xr[iw*g.C:(iw+1)*g.C])
						}
					}
				}
			}
		}
	}
}

// Col2Im is Im2Col's adjoint: it sets dx ([batch, H, W, C]) to the sum,
// over every row of cols ([batch·OH·OW, K·K·C]), of the row's values at
// the input positions Im2Col read them from (padding is dropped). With
// cols = ∂L/∂(Im2Col's output), dx is ∂L/∂x.
func Col2Im(g ConvGeom, batch int, cols, dx []float32) {
	img, rowLen, kc, p := g.H*g.W*g.C, g.W*g.C, g.K*g.C, g.Patch()
	dx, cols = dx[:batch*img], cols[:batch*g.Positions()*p]
	clear(dx)
	r := 0
	for b := 0; b < batch; b++ {
		xb := dx[b*img : (b+1)*img]
		for oh := 0; oh < g.OH; oh++ {
			ih0 := oh*g.Stride - g.Pad
			for ow := 0; ow < g.OW; ow++ {
				iw0 := ow*g.Stride - g.Pad
				src := cols[r*p : (r+1)*p]
				r++
				for kh := 0; kh < g.K; kh++ {
					ih := ih0 + kh
					if ih < 0 || ih >= g.H {
						continue
					}
					seg := src[kh*kc : (kh+1)*kc]
					xr := xb[ih*rowLen : (ih+1)*rowLen]
					lo, hi := max(iw0, 0), min(iw0+g.K, g.W) // the kernel columns inside the image
					if lo >= hi {
						continue
					}
					addTo(xr[lo*g.C:hi*g.C], seg[(lo-iw0)*g.C:(hi-iw0)*g.C])
				}
			}
		}
	}
}

// addTo sets dst[i] += src[i].
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}
