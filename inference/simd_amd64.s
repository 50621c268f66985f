//go:build amd64 && !purego

#include "textflag.h"

// TILE4 is the body of the tile kernels: 4 rows x 2 registers of positions.
// a0-a7 accumulate (row r in a(2r), a(2r+1)), x0 and x1 hold the inputs of
// one j, b0 and b1 the broadcast weights, p0-p3 the products; zero clears a
// register and W is a register's width in bytes. Arguments on the stack as
// in the Go declarations; the loop labels come from the caller's tag.
#define TILE4(zero, a0, a1, a2, a3, a4, a5, a6, a7, x0, x1, b0, p0, p1, b1, p2, p3, W, loop, done) \
	MOVQ xT+0(FP), SI; \
	MOVQ w+8(FP), DI; \
	MOVQ outT+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	MOVQ ldx+32(FP), R8; \
	MOVQ ldw+40(FP), R9; \
	MOVQ ldo+48(FP), R10; \
	SHLQ $2, R8; \
	SHLQ $2, R9; \
	SHLQ $2, R10; \
	MOVQ DI, R11; \
	LEAQ (R11)(R9*1), R12; \
	LEAQ (R12)(R9*1), R13; \
	LEAQ (R13)(R9*1), R14; \
	zero a0, a0, a0; \
	zero a1, a1, a1; \
	zero a2, a2, a2; \
	zero a3, a3, a3; \
	zero a4, a4, a4; \
	zero a5, a5, a5; \
	zero a6, a6, a6; \
	zero a7, a7, a7; \
	XORQ AX, AX; \
	TESTQ CX, CX; \
	JE done; \
loop: \
	VMOVUPS (SI), x0; \
	VMOVUPS W(SI), x1; \
	VBROADCASTSS (R11)(AX*1), b0; \
	VMULPS x0, b0, p0; \
	VMULPS x1, b0, p1; \
	VADDPS p0, a0, a0; \
	VADDPS p1, a1, a1; \
	VBROADCASTSS (R12)(AX*1), b1; \
	VMULPS x0, b1, p2; \
	VMULPS x1, b1, p3; \
	VADDPS p2, a2, a2; \
	VADDPS p3, a3, a3; \
	VBROADCASTSS (R13)(AX*1), b0; \
	VMULPS x0, b0, p0; \
	VMULPS x1, b0, p1; \
	VADDPS p0, a4, a4; \
	VADDPS p1, a5, a5; \
	VBROADCASTSS (R14)(AX*1), b1; \
	VMULPS x0, b1, p2; \
	VMULPS x1, b1, p3; \
	VADDPS p2, a6, a6; \
	VADDPS p3, a7, a7; \
	ADDQ R8, SI; \
	ADDQ $4, AX; \
	DECQ CX; \
	JNE loop; \
done: \
	VMOVUPS a0, (DX); \
	VMOVUPS a1, W(DX); \
	ADDQ R10, DX; \
	VMOVUPS a2, (DX); \
	VMOVUPS a3, W(DX); \
	ADDQ R10, DX; \
	VMOVUPS a4, (DX); \
	VMOVUPS a5, W(DX); \
	ADDQ R10, DX; \
	VMOVUPS a6, (DX); \
	VMOVUPS a7, W(DX); \
	VZEROUPPER

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
	TILE4(VXORPS, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, 32, yloop, ydone)
	RET

// func tile4x32(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// tile4x16 with AVX-512: 4 rows x 32 positions, sixteen per register, the
// same separately rounded products and in-order sums in every lane.
TEXT ·tile4x32(SB), NOSPLIT, $0-56
	TILE4(VPXORD, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, 64, zloop, zdone)
	RET

// TILE8ROW accumulates row r of tile8x8/tile4x8: broadcast the weight at
// addr, multiply by the inputs in Y8, add into acc.
#define TILE8ROW(addr, b, acc) \
	VBROADCASTSS addr, b; \
	VMULPS Y8, b, b; \
	VADDPS b, acc, acc

// func tile8x8(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// tile4x16's sums for 8 rows x 8 positions (one AVX2 register per row):
// eight independent sums for a batch of only eight lanes.
TEXT ·tile8x8(SB), NOSPLIT, $0-56
	MOVQ xT+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ outT+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldx+32(FP), R8
	MOVQ ldw+40(FP), R9
	MOVQ ldo+48(FP), R12
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R12
	LEAQ (R9)(R9*2), R10
	LEAQ (DI)(R9*4), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JE t88done

t88loop:
	VMOVUPS (SI), Y8
	TILE8ROW((DI), Y9, Y0)
	TILE8ROW((DI)(R9*1), Y10, Y1)
	TILE8ROW((DI)(R9*2), Y11, Y2)
	TILE8ROW((DI)(R10*1), Y12, Y3)
	TILE8ROW((R11), Y13, Y4)
	TILE8ROW((R11)(R9*1), Y14, Y5)
	TILE8ROW((R11)(R9*2), Y15, Y6)
	TILE8ROW((R11)(R10*1), Y9, Y7)
	ADDQ R8, SI
	ADDQ $4, DI
	ADDQ $4, R11
	DECQ CX
	JNE t88loop

t88done:
	VMOVUPS Y0, (DX)
	ADDQ R12, DX
	VMOVUPS Y1, (DX)
	ADDQ R12, DX
	VMOVUPS Y2, (DX)
	ADDQ R12, DX
	VMOVUPS Y3, (DX)
	ADDQ R12, DX
	VMOVUPS Y4, (DX)
	ADDQ R12, DX
	VMOVUPS Y5, (DX)
	ADDQ R12, DX
	VMOVUPS Y6, (DX)
	ADDQ R12, DX
	VMOVUPS Y7, (DX)
	VZEROUPPER
	RET

// func tile4x8(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// tile8x8 for the last 4 rows of a matrix whose rows are not a multiple of 8.
TEXT ·tile4x8(SB), NOSPLIT, $0-56
	MOVQ xT+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ outT+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldx+32(FP), R8
	MOVQ ldw+40(FP), R9
	MOVQ ldo+48(FP), R12
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R12
	LEAQ (R9)(R9*2), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ CX, CX
	JE t48done

t48loop:
	VMOVUPS (SI), Y8
	TILE8ROW((DI), Y9, Y0)
	TILE8ROW((DI)(R9*1), Y10, Y1)
	TILE8ROW((DI)(R9*2), Y11, Y2)
	TILE8ROW((DI)(R10*1), Y12, Y3)
	ADDQ R8, SI
	ADDQ $4, DI
	DECQ CX
	JNE t48loop

t48done:
	VMOVUPS Y0, (DX)
	ADDQ R12, DX
	VMOVUPS Y1, (DX)
	ADDQ R12, DX
	VMOVUPS Y2, (DX)
	ADDQ R12, DX
	VMOVUPS Y3, (DX)
	VZEROUPPER
	RET

// TILE16ROW accumulates row r of tile4x16z: broadcast the weight at addr,
// multiply by the inputs in Z8, add into acc.
#define TILE16ROW(addr, b, acc) \
	VBROADCASTSS addr, b; \
	VMULPS Z8, b, b; \
	VADDPS b, acc, acc

// func tile4x16z(xT, w, outT *float32, n, ldx, ldw, ldo int)
//
// tile4x16 with AVX-512: the sixteen positions in one register per row, for
// a lane-layout pass of 16 lanes (a chunk of 9 to 16 positions, or the
// last 16 of 48) at the vector rate of tile4x32.
TEXT ·tile4x16z(SB), NOSPLIT, $0-56
	MOVQ xT+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ outT+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldx+32(FP), R8
	MOVQ ldw+40(FP), R9
	MOVQ ldo+48(FP), R12
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R12
	LEAQ (R9)(R9*2), R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ CX, CX
	JE t416done

t416loop:
	VMOVUPS (SI), Z8
	TILE16ROW((DI), Z9, Z0)
	TILE16ROW((DI)(R9*1), Z10, Z1)
	TILE16ROW((DI)(R9*2), Z11, Z2)
	TILE16ROW((DI)(R10*1), Z12, Z3)
	ADDQ R8, SI
	ADDQ $4, DI
	DECQ CX
	JNE t416loop

t416done:
	VMOVUPS Z0, (DX)
	ADDQ R12, DX
	VMOVUPS Z1, (DX)
	ADDQ R12, DX
	VMOVUPS Z2, (DX)
	ADDQ R12, DX
	VMOVUPS Z3, (DX)
	VZEROUPPER
	RET
