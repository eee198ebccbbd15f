#include "textflag.h"

// func gemm6x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int)
// For r < 6: c[r·ldc : r·ldc+16] += Σ_{p<k} a[r·ars + p·aps]·b[p·ldb : p·ldb+16].
// gemm4x16AVX2 with six rows: twelve YMM accumulators (12 FMAs per 2 loads
// of b and 6 broadcasts of a), enough independent FMAs in flight to cover
// the FMA latency on two pipes, where four rows' eight are just enough.
// Each element is accumulated in the same order with the same FMAs as in
// gemm4x16AVX2 and rowKernel, so the results are identical bit for bit.
TEXT ·gemm6x16AVX2(SB), NOSPLIT, $0-64
	MOVQ c+0(FP), DI
	MOVQ ldc+8(FP), R9
	SHLQ $2, R9
	MOVQ a+16(FP), SI
	MOVQ ars+24(FP), R10
	SHLQ $2, R10
	MOVQ aps+32(FP), R8
	SHLQ $2, R8
	MOVQ b+40(FP), DX
	MOVQ ldb+48(FP), BX
	SHLQ $2, BX
	MOVQ k+56(FP), CX
	LEAQ (SI)(R10*2), R11
	ADDQ R10, R11         // R11 = a + 3 rows
	MOVQ DI, AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	ADDQ R9, AX
	VMOVUPS (AX), Y2
	VMOVUPS 32(AX), Y3
	ADDQ R9, AX
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	ADDQ R9, AX
	VMOVUPS (AX), Y6
	VMOVUPS 32(AX), Y7
	ADDQ R9, AX
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	ADDQ R9, AX
	VMOVUPS (AX), Y10
	VMOVUPS 32(AX), Y11
	TESTQ CX, CX
	JE done6x16
loop6x16:
	VMOVUPS (DX), Y12
	VMOVUPS 32(DX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R10*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R10*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VBROADCASTSS (R11), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (R11)(R10*1), Y14
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VBROADCASTSS (R11)(R10*2), Y15
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ R8, SI
	ADDQ R8, R11
	ADDQ BX, DX
	DECQ CX
	JNE loop6x16
done6x16:
	MOVQ DI, AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	ADDQ R9, AX
	VMOVUPS Y2, (AX)
	VMOVUPS Y3, 32(AX)
	ADDQ R9, AX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, 32(AX)
	ADDQ R9, AX
	VMOVUPS Y6, (AX)
	VMOVUPS Y7, 32(AX)
	ADDQ R9, AX
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	ADDQ R9, AX
	VMOVUPS Y10, (AX)
	VMOVUPS Y11, 32(AX)
	VZEROUPPER
	RET
