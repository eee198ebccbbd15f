// Package openblas binds the few OpenBLAS functions the openblas build
// uses (cblas_sgemm and the thread count), through cgo, from Debian's
// libopenblas-dev. Its code is built only with -tags openblas and cgo;
// without them the package is empty. It is a package of its own because
// Go does not allow cgo in a package with Go assembly (internal/kernels).
// See docs/openblas.md.
package openblas
