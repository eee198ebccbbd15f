#include "textflag.h"

// func gemm4x16AVX2(c *float32, ldc int, a *float32, ars, aps int, b *float32, ldb, k int)
// For r < 4: c[r·ldc : r·ldc+16] += Σ_{p<k} a[r·ars + p·aps]·b[p·ldb : p·ldb+16].
// A 4×16 block of c stays in eight YMM registers; each 16-wide row of b is
// loaded once for the four rows (6 loads per 8 FMAs, against 9 for a
// one-row kernel), and b is swept once per four rows of c.
TEXT ·gemm4x16AVX2(SB), NOSPLIT, $0-64
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
	LEAQ (SI)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
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
	TESTQ CX, CX
	JE done4x16
loop4x16:
	VMOVUPS (DX), Y8
	VMOVUPS 32(DX), Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VBROADCASTSS (R11), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VBROADCASTSS (R12), Y12
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VBROADCASTSS (R13), Y13
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ R8, SI
	ADDQ R8, R11
	ADDQ R8, R12
	ADDQ R8, R13
	ADDQ BX, DX
	DECQ CX
	JNE loop4x16
done4x16:
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
	VZEROUPPER
	RET
