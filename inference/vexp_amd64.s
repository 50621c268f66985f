//go:build amd64 && !purego

#include "textflag.h"

// expFast (detmath.go) on four float64 lanes, operation for operation:
// the same constants, the same products and sums in the same order, each
// rounded separately (VMULPD then VADDPD, never FMA), so every lane equals
// the scalar function bit for bit.

DATA expc<>+0(SB)/8, $0x3ff71547652b82fe // log2e
DATA expc<>+8(SB)/8, $0x4338000000000000 // magic
DATA expc<>+16(SB)/8, $0x3fe62e42fee00000 // ln2Hi
DATA expc<>+24(SB)/8, $0x3dea39ef35793c76 // ln2Lo
DATA expc<>+32(SB)/8, $0x3ff0000000000000
DATA expc<>+40(SB)/8, $0x3fe0000000000000 // c2
DATA expc<>+48(SB)/8, $0x3fc5555555555555 // c3 = 1/6
DATA expc<>+56(SB)/8, $0x3fa5555555555555 // c4 = 1/24
DATA expc<>+64(SB)/8, $0x3f81111111111111 // c5 = 1/120
DATA expc<>+72(SB)/8, $0x3f56c16c16c16c17 // c6 = 1/720
DATA expc<>+80(SB)/8, $0x3f2a01a01a01a01a // c7 = 1/5040
DATA expc<>+88(SB)/8, $0xc05a000000000000 // below: 0
DATA expc<>+96(SB)/8, $0x4086280000000000 // 709: clamp to expFast's domain (a float32 result is +Inf)
DATA expc<>+104(SB)/8, $1023 // exponent bias (integer)
GLOBL expc<>(SB), RODATA|NOPTR, $112

// EXP4 replaces the four float64 lanes of Y0 with expFast of them.
// Y1-Y9 are scratch; the constants are read from memory.
#define EXP4 \
	VBROADCASTSD expc<>+96(SB), Y1; \
	VMINPD Y0, Y1, Y0; \
	VBROADCASTSD expc<>+0(SB), Y1; \
	VMULPD Y1, Y0, Y1; \
	VBROADCASTSD expc<>+8(SB), Y2; \
	VADDPD Y2, Y1, Y1; \
	VSUBPD Y2, Y1, Y2; \
	VBROADCASTSD expc<>+16(SB), Y3; \
	VMULPD Y3, Y2, Y3; \
	VSUBPD Y3, Y0, Y3; \
	VBROADCASTSD expc<>+24(SB), Y4; \
	VMULPD Y4, Y2, Y4; \
	VSUBPD Y4, Y3, Y3; \
	VPBROADCASTQ expc<>+104(SB), Y5; \
	VPADDQ Y5, Y1, Y5; \
	VPSLLQ $52, Y5, Y5; \
	VMULPD Y3, Y3, Y6; \
	VMULPD Y6, Y6, Y7; \
	VBROADCASTSD expc<>+48(SB), Y8; \
	VMULPD Y8, Y3, Y8; \
	VBROADCASTSD expc<>+40(SB), Y9; \
	VADDPD Y8, Y9, Y8; \
	VMULPD Y8, Y6, Y8; \
	VBROADCASTSD expc<>+32(SB), Y9; \
	VADDPD Y3, Y9, Y9; \
	VADDPD Y8, Y9, Y9; \
	VBROADCASTSD expc<>+64(SB), Y8; \
	VMULPD Y8, Y3, Y8; \
	VBROADCASTSD expc<>+56(SB), Y2; \
	VADDPD Y8, Y2, Y8; \
	VBROADCASTSD expc<>+80(SB), Y2; \
	VMULPD Y2, Y3, Y2; \
	VBROADCASTSD expc<>+72(SB), Y1; \
	VADDPD Y2, Y1, Y2; \
	VMULPD Y2, Y6, Y2; \
	VADDPD Y2, Y8, Y8; \
	VMULPD Y8, Y7, Y8; \
	VADDPD Y8, Y9, Y9; \
	VMULPD Y5, Y9, Y9; \
	VBROADCASTSD expc<>+88(SB), Y1; \
	VCMPPD $1, Y1, Y0, Y1; \
	VANDNPD Y9, Y1, Y0

// func exp32x4(dst, src *float32, n int)
//
// dst[i] = exp32(src[i]) for i < n, n a multiple of 4.
TEXT ·exp32x4(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $2, CX
	JE   done32

loop32:
	VCVTPS2PD (SI), Y0
	EXP4
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNE  loop32

done32:
	VZEROUPPER
	RET

// func expDiff64x4(dst *float64, src *float32, mx float32, n int)
//
// dst[i] = expFast(float64(src[i]) - float64(mx)) for i < n, n a multiple of 4.
TEXT ·expDiff64x4(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	VBROADCASTSS mx+16(FP), X10
	VCVTPS2PD X10, Y10
	MOVQ n+24(FP), CX
	SHRQ $2, CX
	JE   done64

loop64:
	VCVTPS2PD (SI), Y0
	VSUBPD Y10, Y0, Y0
	EXP4
	VMOVUPD Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop64

done64:
	VZEROUPPER
	RET
