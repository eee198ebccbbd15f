//go:build openblas && cgo

package learner

import (
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"

	// Links OpenBLAS (#cgo LDFLAGS: -lopenblas, which netlib leaves to its
	// user) and sets its thread count before the first call.
	_ "github.com/rlgo/rlgo/internal/kernels/openblas"
)

// In the openblas build gorgonia's own products (Mul, MatVecMul, … and
// tensor's MatMul: here the dueling head's V·1ᵀ and A·(I − J/|A|)) go to
// OpenBLAS through gonum's netlib binding too, as gorgonia's README
// suggests; the Dense layers' products go to it through internal/kernels.
func init() { gorgonia.Use(netlib.Implementation{}) }

// BLAS names the BLAS gorgonia's generic ops run on: "openblas" here,
// "gonum" (pure Go) in the default build.
const BLAS = "openblas"
