//go:build amd64 && !purego

#include "textflag.h"

// Decoding attention with a lane per head (see attention_cols.go). Eight
// heads per AVX2 register; every lane is one head's sequential sum in
// attend's order, each product rounded before its addition (VMULPS then
// VADDPS, never FMA).

// func attnScores8(q, kx, out *float32, hs, P4, ld int)
//
// For positions p < P4 (a multiple of 4) and the eight lanes h:
// out[p*ld+h] = sum_{i<hs} q[i*ld+h] * kx[(p*hs+i)*ld+h]. Four positions at
// a time, so four independent sums are in flight.
TEXT ·attnScores8(SB), NOSPLIT, $0-48
	MOVQ q+0(FP), SI
	MOVQ kx+8(FP), R11
	MOVQ out+16(FP), DX
	MOVQ hs+24(FP), BX
	MOVQ P4+32(FP), CX
	MOVQ ld+40(FP), R8
	SHLQ $2, R8              // lane row stride in bytes
	MOVQ BX, R9
	IMULQ R8, R9             // one position's keys: hs*ld*4 bytes
	LEAQ (R9)(R9*2), R10
	SHRQ $2, CX
	TESTQ CX, CX
	JE sdone

sblock:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, DI
	MOVQ R11, R12
	MOVQ BX, AX

sloop:
	VMOVUPS (DI), Y8
	VMULPS (R12), Y8, Y9
	VMULPS (R12)(R9*1), Y8, Y10
	VMULPS (R12)(R9*2), Y8, Y11
	VMULPS (R12)(R10*1), Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	ADDQ R8, DI
	ADDQ R8, R12
	DECQ AX
	JNE sloop

	VMOVUPS Y0, (DX)
	ADDQ R8, DX
	VMOVUPS Y1, (DX)
	ADDQ R8, DX
	VMOVUPS Y2, (DX)
	ADDQ R8, DX
	VMOVUPS Y3, (DX)
	ADDQ R8, DX
	LEAQ (R11)(R9*4), R11
	DECQ CX
	JNE sblock

sdone:
	VZEROUPPER
	RET

// func attnValues8(w, vx, out *float32, P, hs, ld int)
//
// For channels k < 8 and the eight lanes h:
// out[k*ld+h] = sum_{p<P} w[p*ld+h] * vx[(p*hs+k)*ld+h], the sums in
// position order; eight channels give eight independent sums.
TEXT ·attnValues8(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ vx+8(FP), R11
	MOVQ out+16(FP), DX
	MOVQ P+24(FP), CX
	MOVQ hs+32(FP), BX
	MOVQ ld+40(FP), R8
	SHLQ $2, R8
	MOVQ BX, R13
	IMULQ R8, R13            // one position's values: hs*ld*4 bytes
	LEAQ (R8)(R8*2), R10
	LEAQ (R11)(R8*4), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JE vdone

vloop:
	VMOVUPS (SI), Y8
	VMULPS (R11), Y8, Y9
	VMULPS (R11)(R8*1), Y8, Y10
	VMULPS (R11)(R8*2), Y8, Y11
	VMULPS (R11)(R10*1), Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	VMULPS (R12), Y8, Y13
	VMULPS (R12)(R8*1), Y8, Y14
	VMULPS (R12)(R8*2), Y8, Y15
	VMULPS (R12)(R10*1), Y8, Y9
	VADDPS Y13, Y4, Y4
	VADDPS Y14, Y5, Y5
	VADDPS Y15, Y6, Y6
	VADDPS Y9, Y7, Y7
	ADDQ R8, SI
	ADDQ R13, R11
	ADDQ R13, R12
	DECQ CX
	JNE vloop

vdone:
	VMOVUPS Y0, (DX)
	ADDQ R8, DX
	VMOVUPS Y1, (DX)
	ADDQ R8, DX
	VMOVUPS Y2, (DX)
	ADDQ R8, DX
	VMOVUPS Y3, (DX)
	ADDQ R8, DX
	VMOVUPS Y4, (DX)
	ADDQ R8, DX
	VMOVUPS Y5, (DX)
	ADDQ R8, DX
	VMOVUPS Y6, (DX)
	ADDQ R8, DX
	VMOVUPS Y7, (DX)
	VZEROUPPER
	RET
