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

// EXPPOLY computes expFast of the float64 lanes of r0 into r9, before the
// cut-off below -104 (which the callers apply with their own mask form):
// r0 is clamped to 709 (a NaN stays NaN), r1-r8 are scratch. It is written
// once for both register widths, so the AVX2 and AVX-512 kernels are one
// sequence of operations. In expFast's names: r1 = kr, r2 = fk, r3 = r,
// r5 = 2**k (kr's low bits plus the bias, shifted into the exponent),
// r6 = r2, r7 = r4, r9 = lo and then the result, r8 = hi.
#define EXPPOLY(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9) \
	VBROADCASTSD expc<>+96(SB), r1; \
	VMINPD r0, r1, r0; \
	VBROADCASTSD expc<>+0(SB), r1; \
	VMULPD r1, r0, r1; \
	VBROADCASTSD expc<>+8(SB), r2; \
	VADDPD r2, r1, r1; \
	VSUBPD r2, r1, r2; \
	VBROADCASTSD expc<>+16(SB), r3; \
	VMULPD r3, r2, r3; \
	VSUBPD r3, r0, r3; \
	VBROADCASTSD expc<>+24(SB), r4; \
	VMULPD r4, r2, r4; \
	VSUBPD r4, r3, r3; \
	VPBROADCASTQ expc<>+104(SB), r5; \
	VPADDQ r5, r1, r5; \
	VPSLLQ $52, r5, r5; \
	VMULPD r3, r3, r6; \
	VMULPD r6, r6, r7; \
	VBROADCASTSD expc<>+48(SB), r8; \
	VMULPD r8, r3, r8; \
	VBROADCASTSD expc<>+40(SB), r9; \
	VADDPD r8, r9, r8; \
	VMULPD r8, r6, r8; \
	VBROADCASTSD expc<>+32(SB), r9; \
	VADDPD r3, r9, r9; \
	VADDPD r8, r9, r9; \
	VBROADCASTSD expc<>+64(SB), r8; \
	VMULPD r8, r3, r8; \
	VBROADCASTSD expc<>+56(SB), r2; \
	VADDPD r8, r2, r8; \
	VBROADCASTSD expc<>+80(SB), r2; \
	VMULPD r2, r3, r2; \
	VBROADCASTSD expc<>+72(SB), r1; \
	VADDPD r2, r1, r2; \
	VMULPD r2, r6, r2; \
	VADDPD r2, r8, r8; \
	VMULPD r8, r7, r8; \
	VADDPD r8, r9, r9; \
	VMULPD r5, r9, r9

// EXP4 replaces the four float64 lanes of Y0 with expFast of them (AVX2).
// Y1-Y9 are scratch.
#define EXP4 \
	EXPPOLY(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9); \
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

// EXP8 replaces the eight float32 lanes of Y11 with exp32 of them, as
// exp32x4 does four at a time. Uses Y0-Y10 and Y12.
#define EXP8 \
	VEXTRACTF128 $1, Y11, X10; \
	VCVTPS2PD X11, Y0; \
	EXP4; \
	VCVTPD2PSY Y0, X11; \
	VCVTPS2PD X10, Y0; \
	EXP4; \
	VCVTPD2PSY Y0, X12; \
	VINSERTF128 $1, X12, Y11, Y11

// EXP8Z is EXP4 on the eight float64 lanes of Z0 (AVX-512). Uses Z1-Z9, K1.
#define EXP8Z \
	EXPPOLY(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9); \
	VBROADCASTSD expc<>+88(SB), Z1; \
	VCMPPD $5, Z1, Z0, K1; \
	VMOVAPD.Z Z9, K1, Z0

// EXP16 replaces the sixteen float32 lanes of Z11 with exp32 of them.
// Uses Z0-Z10, Z12, K1.
#define EXP16 \
	VEXTRACTF64X4 $1, Z11, Y10; \
	VCVTPS2PD Y11, Z0; \
	EXP8Z; \
	VCVTPD2PS Z0, Y11; \
	VCVTPS2PD Y10, Z0; \
	EXP8Z; \
	VCVTPD2PS Z0, Y12; \
	VINSERTF64X4 $1, Y12, Z11, Z11

// func exp32x16(dst, src *float32, n int)
//
// exp32x4 with AVX-512, eight lanes per step; n a multiple of 8.
TEXT ·exp32x16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JE   zdone32

zloop32:
	VCVTPS2PD (SI), Z0
	EXP8Z
	VCVTPD2PS Z0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  zloop32

zdone32:
	VZEROUPPER
	RET

// func expDiff64x16(dst *float64, src *float32, mx float32, n int)
//
// expDiff64x4 with AVX-512, eight lanes per step; n a multiple of 8.
TEXT ·expDiff64x16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	VBROADCASTSS mx+16(FP), Y10
	VCVTPS2PD Y10, Z10
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JE   zdone64

zloop64:
	VCVTPS2PD (SI), Z0
	VSUBPD Z10, Z0, Z0
	EXP8Z
	VMOVUPD Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  zloop64

zdone64:
	VZEROUPPER
	RET

// SOFTMAXCOLS is the loop of softmaxCols for one register width: v holds a
// row's lanes, mx the column maxima, sum their exponentials' sums, scale
// the divisor; zero clears a register, exp is EXP8 or EXP16 (on v), W the
// register width in bytes. SI points at the first column, BX holds rows,
// R8 the row stride in bytes, R9 the number of columns.
#define SOFTMAXCOLS(v, sum, mx, scale, zero, exp, W, block, maxloop, pass2, exploop, divloop) \
block: \
	MOVQ SI, DI; \
	VMOVUPS (DI), v; \
	VDIVPS scale, v, v; \
	VMOVUPS v, (DI); \
	VMOVUPS v, mx; \
	MOVQ BX, CX; \
	DECQ CX; \
	JE   pass2; \
maxloop: \
	ADDQ R8, DI; \
	VMOVUPS (DI), v; \
	VDIVPS scale, v, v; \
	VMOVUPS v, (DI); \
	VMAXPS mx, v, mx; \
	DECQ CX; \
	JNE  maxloop; \
pass2: \
	MOVQ SI, DI; \
	zero sum, sum, sum; \
	MOVQ BX, CX; \
exploop: \
	VMOVUPS (DI), v; \
	VSUBPS mx, v, v; \
	exp; \
	VMOVUPS v, (DI); \
	VADDPS v, sum, sum; \
	ADDQ R8, DI; \
	DECQ CX; \
	JNE  exploop; \
	MOVQ SI, DI; \
	MOVQ BX, CX; \
divloop: \
	VMOVUPS (DI), v; \
	VDIVPS sum, v, v; \
	VMOVUPS v, (DI); \
	ADDQ R8, DI; \
	DECQ CX; \
	JNE  divloop; \
	ADDQ $W, SI; \
	DECQ R9; \
	JNE  block

// func softmaxCols(sc *float32, rows, ld int, scale float32, blocks int)
//
// For each of blocks columns of eight lanes of the rows x ld matrix sc (row
// stride ld floats), the softmax of attend down the column: every entry is
// divided by scale, the column maximum taken in row order (VMAXPS keeps the
// held maximum unless the new value is greater, as attend's comparison
// does), then exp32(v - max) summed in row order, then each divided by the
// sum. Entries of -Inf become weight 0.
TEXT ·softmaxCols(SB), NOSPLIT, $0-40
	MOVQ sc+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	VBROADCASTSS scale+24(FP), Y15
	MOVQ blocks+32(FP), R9
	TESTQ BX, BX
	JE   smdone
	SOFTMAXCOLS(Y11, Y13, Y14, Y15, VXORPS, EXP8, 32, smblock, smmax, smpass2, smexp, smdiv)

smdone:
	VZEROUPPER
	RET

// func softmaxColsZ(sc *float32, rows, ld int, scale float32, blocks int)
//
// softmaxCols with AVX-512: blocks columns of sixteen lanes.
TEXT ·softmaxColsZ(SB), NOSPLIT, $0-40
	MOVQ sc+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	VBROADCASTSS scale+24(FP), Z15
	MOVQ blocks+32(FP), R9
	TESTQ BX, BX
	JE   zsmdone
	SOFTMAXCOLS(Z11, Z13, Z14, Z15, VPXORD, EXP16, 64, zsmblock, zsmmax, zsmpass2, zsmexp, zsmdiv)

zsmdone:
	VZEROUPPER
	RET

// EXP8YZ replaces the eight float32 lanes of Y11 with exp32 of them, as
// EXP8 does, but on one register of eight float64 lanes (AVX-512): the same
// operations per lane, half the instructions. Uses Z0-Z9, K1.
#define EXP8YZ \
	VCVTPS2PD Y11, Z0; \
	EXP8Z; \
	VCVTPD2PS Z0, Y11

// func softmaxColsYZ(sc *float32, rows, ld int, scale float32, blocks int)
//
// softmaxCols (columns of eight float32 lanes) with its exponentials on
// AVX-512's eight float64 lanes at once.
TEXT ·softmaxColsYZ(SB), NOSPLIT, $0-40
	MOVQ sc+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	VBROADCASTSS scale+24(FP), Y15
	MOVQ blocks+32(FP), R9
	TESTQ BX, BX
	JE   yzsmdone
	SOFTMAXCOLS(Y11, Y13, Y14, Y15, VXORPS, EXP8YZ, 32, yzsmblock, yzsmmax, yzsmpass2, yzsmexp, yzsmdiv)

yzsmdone:
	VZEROUPPER
	RET

DATA siluc<>+0(SB)/4, $0x80000000 // sign bit
DATA siluc<>+4(SB)/4, $0x3f800000 // 1.0
GLOBL siluc<>(SB), RODATA|NOPTR, $8

// SILUMUL is the loop of siluMul8/16 for one register width: u holds the
// inputs, v the gate's exponential and then the result, one and sign the
// constants; neg flips the sign (a xor), exp is EXP8 or EXP16 (on v), W the
// register width in bytes. SI points at hb, DI at hb2, CX counts registers.
#define SILUMUL(u, v, one, sign, neg, exp, W, loop) \
loop: \
	VMOVUPS (SI), u; \
	neg sign, u, v; \
	exp; \
	VADDPS v, one, v; \
	VDIVPS v, one, v; \
	VMULPS v, u, v; \
	VMULPS (DI), v, v; \
	VMOVUPS v, (SI); \
	ADDQ $W, SI; \
	ADDQ $W, DI; \
	DECQ CX; \
	JNE  loop

// func siluMul8(hb, hb2 *float32, n int)
//
// hb[i] = float32(v * (1 / (1 + exp32(-v)))) * hb2[i] with v = hb[i], for
// i < n (a multiple of 8): silu's arithmetic, eight lanes per step.
TEXT ·siluMul8(SB), NOSPLIT, $0-24
	MOVQ hb+0(FP), SI
	MOVQ hb2+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JE   sdone8
	VBROADCASTSS siluc<>+0(SB), Y15
	VBROADCASTSS siluc<>+4(SB), Y14
	SILUMUL(Y13, Y11, Y14, Y15, VXORPS, EXP8, 32, sloop8)

sdone8:
	VZEROUPPER
	RET

// func siluMul16(hb, hb2 *float32, n int)
//
// siluMul8 with AVX-512, sixteen lanes per step; n a multiple of 16.
TEXT ·siluMul16(SB), NOSPLIT, $0-24
	MOVQ hb+0(FP), SI
	MOVQ hb2+8(FP), DI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JE   sdone16
	VBROADCASTSS siluc<>+0(SB), Z15
	VBROADCASTSS siluc<>+4(SB), Z14
	SILUMUL(Z13, Z11, Z14, Z15, VPXORD, EXP16, 64, sloop16)

sdone16:
	VZEROUPPER
	RET

// func divAll8(dst, src *float32, d float32, n int)
//
// dst[i] = src[i] / d for i < n, a multiple of 8 (VDIVPS is IEEE
// division, correctly rounded: the scalar quotient bit for bit).
TEXT ·divAll8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	VBROADCASTSS d+16(FP), Y1
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JE   div8done

div8loop:
	VMOVUPS (SI), Y0
	VDIVPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  div8loop

div8done:
	VZEROUPPER
	RET

// func divAll16(dst, src *float32, d float32, n int)
//
// divAll8 with AVX-512; n a multiple of 16.
TEXT ·divAll16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	VBROADCASTSS d+16(FP), Z1
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JE   div16done

div16loop:
	VMOVUPS (SI), Z0
	VDIVPS Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE  div16loop

div16done:
	VZEROUPPER
	RET

// FIRSTCMP is the loop of the firstAbove/firstNotLE kernels: AX indexes the
// lanes floats at SI compared with the broadcast t in bt under predicate
// pred, CX is n; AX ends at the first lane that compares true, or n.
// Uses x0, m and BX; movmsk turns m into a bit mask in BX.
#define FIRSTCMP(pred, x0, bt, m, movmsk, lanes, loop, found, none) \
	XORQ AX, AX; \
loop: \
	CMPQ AX, CX; \
	JGE  none; \
	VMOVUPS (SI)(AX*4), x0; \
	VCMPPS $pred, bt, x0, m; \
	movmsk m, BX; \
	TESTL BX, BX; \
	JNE  found; \
	ADDQ $lanes, AX; \
	JMP  loop; \
found: \
	BSFL BX, BX; \
	ADDQ BX, AX; \
none:

// func firstAbove16(x *float32, n int, t float32) int
//
// The index of the first x[i] > t (ordered: a NaN is never above), or n;
// n a multiple of 16.
TEXT ·firstAbove16(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Z1
	FIRSTCMP(0x1e, Z0, Z1, K1, KMOVW, 16, fa16loop, fa16found, fa16none)
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func firstAbove8(x *float32, n int, t float32) int
//
// firstAbove16 with AVX2; n a multiple of 8.
TEXT ·firstAbove8(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Y1
	FIRSTCMP(0x1e, Y0, Y1, Y2, VMOVMSKPS, 8, fa8loop, fa8found, fa8none)
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func firstNotLE16(x *float32, n int, t float32) int
//
// The index of the first x[i] for which x[i] <= t is false (above t, or a
// NaN on either side), or n; n a multiple of 16.
TEXT ·firstNotLE16(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Z1
	FIRSTCMP(0x16, Z0, Z1, K1, KMOVW, 16, fn16loop, fn16found, fn16none)
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func firstNotLE8(x *float32, n int, t float32) int
//
// firstNotLE16 with AVX2; n a multiple of 8.
TEXT ·firstNotLE8(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Y1
	FIRSTCMP(0x16, Y0, Y1, Y2, VMOVMSKPS, 8, fn8loop, fn8found, fn8none)
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET
