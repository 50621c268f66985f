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
