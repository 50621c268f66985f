//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func tile4x16(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// outT[r*ldo + p] = sum_j w[r*ldw + j] * xT[j*ldx + p] for r < 4, p < 16,
// each lane a sequential sum over j of separately rounded products
// (VMULPS then VADDPS, never FMA): the same arithmetic as the scalar
// kernels, eight positions per register.
TEXT ·tile4x16(SB), NOSPLIT, $0-56
	MOVQ xT+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ outT+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldx+32(FP), R8
	MOVQ ldw+40(FP), R9
	MOVQ ldo+48(FP), R10
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	MOVQ DI, R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	TESTQ CX, CX
	JE done

loop:
	VMOVUPS (SI), Y8
	VMOVUPS 32(SI), Y9
	VBROADCASTSS (R11)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VMULPS Y9, Y10, Y12
	VADDPS Y11, Y0, Y0
	VADDPS Y12, Y1, Y1
	VBROADCASTSS (R12)(AX*1), Y13
	VMULPS Y8, Y13, Y14
	VMULPS Y9, Y13, Y15
	VADDPS Y14, Y2, Y2
	VADDPS Y15, Y3, Y3
	VBROADCASTSS (R13)(AX*1), Y10
	VMULPS Y8, Y10, Y11
	VMULPS Y9, Y10, Y12
	VADDPS Y11, Y4, Y4
	VADDPS Y12, Y5, Y5
	VBROADCASTSS (R14)(AX*1), Y13
	VMULPS Y8, Y13, Y14
	VMULPS Y9, Y13, Y15
	VADDPS Y14, Y6, Y6
	VADDPS Y15, Y7, Y7
	ADDQ R8, SI
	ADDQ $4, AX
	DECQ CX
	JNE loop

done:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ R10, DX
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, 32(DX)
	ADDQ R10, DX
	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ R10, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	VZEROUPPER
	RET

// func tile4x32(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// tile4x16 with AVX-512: 4 rows x 32 positions, sixteen per register, the
// same separately rounded products and in-order sums in every lane.
TEXT ·tile4x32(SB), NOSPLIT, $0-56
	MOVQ xT+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ outT+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldx+32(FP), R8
	MOVQ ldw+40(FP), R9
	MOVQ ldo+48(FP), R10
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	MOVQ DI, R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ AX, AX
	TESTQ CX, CX
	JE zdone

zloop:
	VMOVUPS (SI), Z8
	VMOVUPS 64(SI), Z9
	VBROADCASTSS (R11)(AX*1), Z10
	VMULPS Z8, Z10, Z11
	VMULPS Z9, Z10, Z12
	VADDPS Z11, Z0, Z0
	VADDPS Z12, Z1, Z1
	VBROADCASTSS (R12)(AX*1), Z13
	VMULPS Z8, Z13, Z14
	VMULPS Z9, Z13, Z15
	VADDPS Z14, Z2, Z2
	VADDPS Z15, Z3, Z3
	VBROADCASTSS (R13)(AX*1), Z10
	VMULPS Z8, Z10, Z11
	VMULPS Z9, Z10, Z12
	VADDPS Z11, Z4, Z4
	VADDPS Z12, Z5, Z5
	VBROADCASTSS (R14)(AX*1), Z13
	VMULPS Z8, Z13, Z14
	VMULPS Z9, Z13, Z15
	VADDPS Z14, Z6, Z6
	VADDPS Z15, Z7, Z7
	ADDQ R8, SI
	ADDQ $4, AX
	DECQ CX
	JNE zloop

zdone:
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	ADDQ R10, DX
	VMOVUPS Z2, (DX)
	VMOVUPS Z3, 64(DX)
	ADDQ R10, DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	ADDQ R10, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z7, 64(DX)
	VZEROUPPER
	RET
