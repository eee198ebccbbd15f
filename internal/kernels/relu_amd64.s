#include "textflag.h"

// func reluAVX2(x *float32, n int)
// x[i] = max(x[i], 0) as Go's max, n a multiple of 8. VMAXPS returns its
// second source when both are zero (so −0 becomes +0) or either is NaN,
// so NaNs are blended back from x.
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VXORPS Y15, Y15, Y15
	SHRQ $3, CX
	JE rdone
rloop:
	VMOVUPS (DI), Y0
	VMAXPS Y15, Y0, Y1         // Y1 = max(x, 0), 0 for NaN and ±0
	VCMPPS $3, Y0, Y0, Y2      // Y2 = x is NaN (unordered)
	VBLENDVPS Y2, Y0, Y1, Y1   // Y1 = NaN ? x : Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	DECQ CX
	JNE rloop
rdone:
	VZEROUPPER
	RET

// func reluGradAVX2(out, y, gr *float32, n int)
// out[i] = y[i] > 0 ? gr[i] : +0, n a multiple of 8.
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ gr+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y15, Y15, Y15
	SHRQ $3, CX
	JE rgdone
rgloop:
	VMOVUPS (SI), Y0
	VCMPPS $0x1e, Y15, Y0, Y1  // Y1 = y > 0 (ordered, quiet)
	VANDPS (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNE rgloop
rgdone:
	VZEROUPPER
	RET
