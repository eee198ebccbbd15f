//go:build !openblas || !cgo

package learner

// BLAS names the BLAS gorgonia's generic ops run on: "gonum" (pure Go)
// here, "openblas" in the openblas build (blas_openblas.go).
const BLAS = "gonum"
