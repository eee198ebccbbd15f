#include "textflag.h"

// func adamAVX2(p, m, v, gr *float32, n int, c *[8]float32)
// One Adam update of n values (a multiple of 8), 8 at a time, in float32
// as torch.optim.Adam. c holds, in order: the gradient scale, β1, 1−β1,
// β2, 1−β2, √(1−β2ᵗ), ε, lr/(1−β1ᵗ).
//
//	g ← s·g    m ← β1·m + (1−β1)·g    v ← β2·v + (1−β2)·g²
//	p ← p − step·m / (√v/√(1−β2ᵗ) + ε)
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ gr+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	VBROADCASTSS 28(AX), Y15
	SHRQ $3, CX
	JE adamdone
adamloop:
	VMULPS (BX), Y8, Y0
	VMOVUPS Y0, (BX)
	VMULPS (SI), Y9, Y1
	VFMADD231PS Y10, Y0, Y1
	VMOVUPS Y1, (SI)
	VMULPS (DX), Y11, Y2
	VMULPS Y0, Y0, Y3
	VFMADD231PS Y12, Y3, Y2
	VMOVUPS Y2, (DX)
	VSQRTPS Y2, Y3
	VDIVPS Y13, Y3, Y3
	VADDPS Y14, Y3, Y3
	VDIVPS Y3, Y1, Y1
	VMOVUPS (DI), Y4
	VFNMADD231PS Y15, Y1, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNE adamloop
adamdone:
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n int) float64
// Σ x[i]² in float64 (each value widened before squaring), n a multiple of 8.
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y3, Y3, Y3
	SHRQ $3, CX
	JE ssdone
ssloop:
	VCVTPS2PD 0(SI), Y1
	VCVTPS2PD 16(SI), Y2
	VFMADD231PD Y1, Y1, Y0
	VFMADD231PD Y2, Y2, Y3
	ADDQ $32, SI
	DECQ CX
	JNE ssloop
ssdone:
	VADDPD Y3, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func tanhGradAVX2(out, y, gr *float32, n int)
// out[i] = gr[i]·(1 − y[i]²), n a multiple of 8.
TEXT ·tanhGradAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	MOVL $0x3f800000, AX
	MOVL AX, X15
	VBROADCASTSS X15, Y15
	SHRQ $3, CX
	JE tgdone
tgloop:
	VMOVUPS (SI), Y0
	VMOVAPS Y15, Y1
	VFNMADD231PS Y0, Y0, Y1
	VMULPS (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNE tgloop
tgdone:
	VZEROUPPER
	RET
