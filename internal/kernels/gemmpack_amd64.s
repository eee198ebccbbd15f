#include "textflag.h"

// func packB16AVX2(dst, b *float32, ldb, kc, nc int)
// dst[(j/16)·kc·16 + p·16 + j%16] = b[p·ldb + j] for p < kc, j < nc: a
// panel of b (kc, nc > 0, nc a multiple of 16) as nc/16 contiguous strips
// of kc×16 values. Reads b row by row (sequential within a row), writes
// the nc/16 strips a row at a time.
TEXT ·packB16AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
	MOVQ nc+32(FP), DX
	MOVQ CX, R8
	SHLQ $6, R8 // bytes per strip: kc·16·4
packrow:
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ DX, R11
packcol:
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS Y0, (R10)
	VMOVUPS Y1, 32(R10)
	ADDQ $64, R9
	ADDQ R8, R10
	SUBQ $16, R11
	JNE packcol
	ADDQ BX, SI
	ADDQ $64, DI
	DECQ CX
	JNE packrow
	VZEROUPPER
	RET

// func packA6AVX2(dst, a *float32, aps, kc int)
// dst[p·6 + r] = a[p·aps + r] for p < kc (> 0), r < 6: six contiguous
// values of each of kc rows, as a contiguous 6-row panel of Aᵀ.
TEXT ·packA6AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ aps+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
packa6:
	VMOVUPS (SI), X0
	MOVQ 16(SI), AX
	VMOVUPS X0, (DI)
	MOVQ AX, 16(DI)
	ADDQ BX, SI
	ADDQ $24, DI
	DECQ CX
	JNE packa6
	RET

// func packA4AVX2(dst, a *float32, aps, kc int)
// dst[p·4 + r] = a[p·aps + r] for p < kc (> 0), r < 4.
TEXT ·packA4AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ aps+16(FP), BX
	SHLQ $2, BX
	MOVQ kc+24(FP), CX
packa4:
	VMOVUPS (SI), X0
	VMOVUPS X0, (DI)
	ADDQ BX, SI
	ADDQ $16, DI
	DECQ CX
	JNE packa4
	RET
