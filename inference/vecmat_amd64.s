//go:build amd64 && !purego

#include "textflag.h"

// The decoding kernels: one position's matrix-vector product with a lane per
// output row. w is the transposed weight (input features x output rows, ldw
// floats apart), so row j of w holds weight j of consecutive output rows:
//
//	out[c] = sum_j x[j] * w[j*ldw + c]
//
// Each lane is one output row's sequential sum over j of separately rounded
// products (VMULPS then VADDPS, never FMA), starting from +0: exactly the
// scalar matvec's arithmetic, so the results are bit-identical to it.

// VECMAT1 is the body of the one-register kernels: a0 accumulates, b holds
// the broadcast x[j], p the product.
#define VECMAT1(zero, a0, b, p, loop, done) \
	MOVQ x+0(FP), SI; \
	MOVQ w+8(FP), DI; \
	MOVQ out+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	MOVQ ldw+32(FP), R8; \
	SHLQ $2, R8; \
	zero a0, a0, a0; \
	TESTQ CX, CX; \
	JE done; \
loop: \
	VBROADCASTSS (SI), b; \
	VMULPS (DI), b, p; \
	VADDPS p, a0, a0; \
	ADDQ $4, SI; \
	ADDQ R8, DI; \
	DECQ CX; \
	JNE loop; \
done: \
	VMOVUPS a0, (DX); \
	VZEROUPPER

// func vecmat8y(x, w, out *float32, n, ldw int)
//
// 8 output rows with AVX2.
TEXT ·vecmat8y(SB), NOSPLIT, $0-40
	VECMAT1(VXORPS, Y0, Y8, Y9, l8y, d8y)
	RET

// func vecmat16z(x, w, out *float32, n, ldw int)
//
// 16 output rows with AVX-512.
TEXT ·vecmat16z(SB), NOSPLIT, $0-40
	VECMAT1(VPXORD, Z0, Z8, Z9, l16z, d16z)
	RET

// func vecmat64y(x, w, out *float32, n, ldw int)
//
// 64 output rows with AVX2: eight accumulators, so eight independent sums
// hide the latency of the additions.
TEXT ·vecmat64y(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ out+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JE d64y

l64y:
	VBROADCASTSS (SI), Y8
	VMULPS (DI), Y8, Y9
	VMULPS 32(DI), Y8, Y10
	VMULPS 64(DI), Y8, Y11
	VMULPS 96(DI), Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	VMULPS 128(DI), Y8, Y13
	VMULPS 160(DI), Y8, Y14
	VMULPS 192(DI), Y8, Y15
	VMULPS 224(DI), Y8, Y9
	VADDPS Y13, Y4, Y4
	VADDPS Y14, Y5, Y5
	VADDPS Y15, Y6, Y6
	VADDPS Y9, Y7, Y7
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNE l64y

d64y:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	VZEROUPPER
	RET

// func vecmat64z(x, w, out *float32, n, ldw int)
//
// 64 output rows with AVX-512: four accumulators of sixteen lanes.
TEXT ·vecmat64z(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ out+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ ldw+32(FP), R8
	SHLQ $2, R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ CX, CX
	JE d64z

l64z:
	VBROADCASTSS (SI), Z8
	VMULPS (DI), Z8, Z9
	VMULPS 64(DI), Z8, Z10
	VMULPS 128(DI), Z8, Z11
	VMULPS 192(DI), Z8, Z12
	VADDPS Z9, Z0, Z0
	VADDPS Z10, Z1, Z1
	VADDPS Z11, Z2, Z2
	VADDPS Z12, Z3, Z3
	ADDQ $4, SI
	ADDQ R8, DI
	DECQ CX
	JNE l64z

d64z:
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VZEROUPPER
	RET

// VM4ROW multiplies the four weight registers Z16-Z19 by the broadcast b and
// adds the products into a0-a3 (t0-t3 scratch).
#define VM4ROW(b, a0, a1, a2, a3, t0, t1, t2, t3) \
	VMULPS Z16, b, t0; \
	VMULPS Z17, b, t1; \
	VMULPS Z18, b, t2; \
	VMULPS Z19, b, t3; \
	VADDPS t0, a0, a0; \
	VADDPS t1, a1, a1; \
	VADDPS t2, a2, a2; \
	VADDPS t3, a3, a3

// func vecmat4x64z(x0, x1, x2, x3, w, o0, o1, o2, o3 *float32, n, ldw int)
//
// vecmat64z for four positions at once: each load of the weights feeds
// four sums (the weights are read once for four sequences of a batch).
TEXT ·vecmat4x64z(SB), NOSPLIT, $0-88
	MOVQ x0+0(FP), R8
	MOVQ x1+8(FP), R9
	MOVQ x2+16(FP), R10
	MOVQ x3+24(FP), R11
	MOVQ w+32(FP), DI
	MOVQ n+72(FP), CX
	MOVQ ldw+80(FP), R12
	SHLQ $2, R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	XORQ AX, AX
	TESTQ CX, CX
	JE v4done

v4loop:
	VMOVUPS (DI), Z16
	VMOVUPS 64(DI), Z17
	VMOVUPS 128(DI), Z18
	VMOVUPS 192(DI), Z19
	VBROADCASTSS (R8)(AX*1), Z20
	VBROADCASTSS (R9)(AX*1), Z21
	VBROADCASTSS (R10)(AX*1), Z22
	VBROADCASTSS (R11)(AX*1), Z23
	VM4ROW(Z20, Z0, Z1, Z2, Z3, Z24, Z25, Z26, Z27)
	VM4ROW(Z21, Z4, Z5, Z6, Z7, Z28, Z29, Z30, Z31)
	VM4ROW(Z22, Z8, Z9, Z10, Z11, Z24, Z25, Z26, Z27)
	VM4ROW(Z23, Z12, Z13, Z14, Z15, Z28, Z29, Z30, Z31)
	ADDQ $4, AX
	ADDQ R12, DI
	DECQ CX
	JNE v4loop

v4done:
	MOVQ o0+40(FP), DX
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	MOVQ o1+48(FP), DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	VMOVUPS Z6, 128(DX)
	VMOVUPS Z7, 192(DX)
	MOVQ o2+56(FP), DX
	VMOVUPS Z8, (DX)
	VMOVUPS Z9, 64(DX)
	VMOVUPS Z10, 128(DX)
	VMOVUPS Z11, 192(DX)
	MOVQ o3+64(FP), DX
	VMOVUPS Z12, (DX)
	VMOVUPS Z13, 64(DX)
	VMOVUPS Z14, 128(DX)
	VMOVUPS Z15, 192(DX)
	VZEROUPPER
	RET
