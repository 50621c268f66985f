//go:build amd64 && !purego

#include "textflag.h"

// Decoding attention with a lane per head (see decode.go). Eight query heads
// per AVX2 register; every lane is one head's sequential sum in attend's
// order, each product rounded before its addition (VMULPS then VADDPS,
// never FMA).
//
// The cache holds each kv head once (kld floats per channel of a position:
// the kv heads side by side); a lane reads its query head's kv head through
// the permutation idx (VPERMPS of the eight floats from the block's first kv
// head), so grouped-query models read their keys and values once rather
// than once per query head. A permutation moves values, it never changes
// them, so each lane's products are those of attend.

// func attnScoresG(q, kx, out *float32, idx *int32, hs, P4, ld, kld int)
//
// For positions p < P4 (a multiple of 4) and the eight lanes h:
// out[p*ld+h] = sum_{i<hs} q[i*ld+h] * kx[(p*hs+i)*kld+idx[h]]. Four
// positions at a time, so four independent sums are in flight.
TEXT ·attnScoresG(SB), NOSPLIT, $0-64
	MOVQ idx+24(FP), AX
	VMOVDQU (AX), Y7
	MOVQ q+0(FP), SI
	MOVQ kx+8(FP), R11
	MOVQ out+16(FP), DX
	MOVQ hs+32(FP), BX
	MOVQ P4+40(FP), CX
	MOVQ ld+48(FP), R8
	SHLQ $2, R8              // q and out row stride in bytes
	MOVQ kld+56(FP), R13
	SHLQ $2, R13             // one channel of one position's keys, in bytes
	MOVQ BX, R9
	IMULQ R13, R9            // one position's keys: hs*kld*4 bytes
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
	VPERMPS (R12), Y7, Y9
	VPERMPS (R12)(R9*1), Y7, Y10
	VPERMPS (R12)(R9*2), Y7, Y11
	VPERMPS (R12)(R10*1), Y7, Y12
	VMULPS Y9, Y8, Y9
	VMULPS Y10, Y8, Y10
	VMULPS Y11, Y8, Y11
	VMULPS Y12, Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	ADDQ R8, DI
	ADDQ R13, R12
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

// func attnValuesG(w, vx, out *float32, idx *int32, P, hs, ld, kld int)
//
// For channels k < 8 and the eight lanes h:
// out[k*ld+h] = sum_{p<P} w[p*ld+h] * vx[(p*hs+k)*kld+idx[h]], the sums in
// position order; eight channels give eight independent sums.
TEXT ·attnValuesG(SB), NOSPLIT, $0-64
	MOVQ idx+24(FP), AX
	VMOVDQU (AX), Y15
	MOVQ w+0(FP), SI
	MOVQ vx+8(FP), R11
	MOVQ out+16(FP), DX
	MOVQ P+32(FP), CX
	MOVQ hs+40(FP), BX
	MOVQ ld+48(FP), R8
	SHLQ $2, R8              // w and out row stride in bytes
	MOVQ kld+56(FP), R9
	SHLQ $2, R9              // one channel of one position's values, in bytes
	MOVQ BX, R13
	IMULQ R9, R13            // one position's values: hs*kld*4 bytes
	LEAQ (R9)(R9*2), R10
	LEAQ (R11)(R9*4), R12
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
	VPERMPS (R11), Y15, Y9
	VPERMPS (R11)(R9*1), Y15, Y10
	VPERMPS (R11)(R9*2), Y15, Y11
	VPERMPS (R11)(R10*1), Y15, Y12
	VMULPS Y9, Y8, Y9
	VMULPS Y10, Y8, Y10
	VMULPS Y11, Y8, Y11
	VMULPS Y12, Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	VPERMPS (R12), Y15, Y9
	VPERMPS (R12)(R9*1), Y15, Y10
	VPERMPS (R12)(R9*2), Y15, Y11
	VPERMPS (R12)(R10*1), Y15, Y12
	VMULPS Y9, Y8, Y9
	VMULPS Y10, Y8, Y10
	VMULPS Y11, Y8, Y11
	VMULPS Y12, Y8, Y12
	VADDPS Y9, Y4, Y4
	VADDPS Y10, Y5, Y5
	VADDPS Y11, Y6, Y6
	VADDPS Y12, Y7, Y7
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
