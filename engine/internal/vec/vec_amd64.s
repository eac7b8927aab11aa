#include "textflag.h"

// func addScaledAVX(dst, src *float64, n int, q float64)
// n is a positive multiple of 16. dst[k] += q*src[k]: VMULPD then VADDPD,
// two roundings, as the Go version.
TEXT ·addScaledAVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD q+24(FP), Y0
	XORQ AX, AX
loop:
	VMULPD (SI)(AX*8), Y0, Y1
	VMULPD 32(SI)(AX*8), Y0, Y2
	VMULPD 64(SI)(AX*8), Y0, Y3
	VMULPD 96(SI)(AX*8), Y0, Y4
	VADDPD (DI)(AX*8), Y1, Y1
	VADDPD 32(DI)(AX*8), Y2, Y2
	VADDPD 64(DI)(AX*8), Y3, Y3
	VADDPD 96(DI)(AX*8), Y4, Y4
	VMOVUPD Y1, (DI)(AX*8)
	VMOVUPD Y2, 32(DI)(AX*8)
	VMOVUPD Y3, 64(DI)(AX*8)
	VMOVUPD Y4, 96(DI)(AX*8)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT loop
	VZEROUPPER
	RET

// func accumulateAVX(dst *float64, base *float64, stride, off int, idx *uint32, qty *float64, n int)
// Eight YMM accumulators hold the 32 sums; each position adds
// float64(q*row[k]) in order (VMULPD, then VADDPD: no fusion). n > 0.
TEXT ·accumulateAVX(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ base+8(FP), SI
	MOVQ stride+16(FP), R8
	MOVQ off+24(FP), R9
	MOVQ idx+32(FP), R10
	MOVQ qty+40(FP), R11
	MOVQ n+48(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	XORQ BX, BX
pos:
	MOVL (R10)(BX*4), AX     // instrument row
	IMULQ R8, AX             // row * stride
	ADDQ R9, AX              // + off
	LEAQ (SI)(AX*8), DX      // &base[row*stride+off]
	VBROADCASTSD (R11)(BX*8), Y8
	VMULPD (DX), Y8, Y9
	VMULPD 32(DX), Y8, Y10
	VMULPD 64(DX), Y8, Y11
	VMULPD 96(DX), Y8, Y12
	VADDPD Y9, Y0, Y0
	VADDPD Y10, Y1, Y1
	VADDPD Y11, Y2, Y2
	VADDPD Y12, Y3, Y3
	VMULPD 128(DX), Y8, Y9
	VMULPD 160(DX), Y8, Y10
	VMULPD 192(DX), Y8, Y11
	VMULPD 224(DX), Y8, Y12
	VADDPD Y9, Y4, Y4
	VADDPD Y10, Y5, Y5
	VADDPD Y11, Y6, Y6
	VADDPD Y12, Y7, Y7
	INCQ BX
	CMPQ BX, CX
	JLT pos
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VMOVUPD Y4, 128(DI)
	VMOVUPD Y5, 160(DI)
	VMOVUPD Y6, 192(DI)
	VMOVUPD Y7, 224(DI)
	VZEROUPPER
	RET


// func addScaledToAVX(dst, l, p *float64, n int, q float64)
// n is a positive multiple of 16. dst[k] = l[k] + q*p[k]: VMULPD then
// VADDPD, two roundings, as the Go version.
TEXT ·addScaledToAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ l+8(FP), SI
	MOVQ p+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSD q+32(FP), Y0
	XORQ AX, AX
toloop:
	VMULPD (DX)(AX*8), Y0, Y1
	VMULPD 32(DX)(AX*8), Y0, Y2
	VMULPD 64(DX)(AX*8), Y0, Y3
	VMULPD 96(DX)(AX*8), Y0, Y4
	VADDPD (SI)(AX*8), Y1, Y1
	VADDPD 32(SI)(AX*8), Y2, Y2
	VADDPD 64(SI)(AX*8), Y3, Y3
	VADDPD 96(SI)(AX*8), Y4, Y4
	VMOVUPD Y1, (DI)(AX*8)
	VMOVUPD Y2, 32(DI)(AX*8)
	VMOVUPD Y3, 64(DI)(AX*8)
	VMOVUPD Y4, 96(DI)(AX*8)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT toloop
	VZEROUPPER
	RET

// COMPACT stores the lanes of vector V whose mask M is set to out[c:]
// (DI, BX), packed in lane order, and advances c by their count: the lane
// mask indexes a VPERMPS table of 32-byte rows (R8).
#define COMPACT(V, M) \
	VMOVMSKPD M, R9; \
	MOVQ R9, R10; \
	SHLQ $5, R10; \
	VMOVDQU (R8)(R10*1), Y12; \
	VPERMPS V, Y12, Y13; \
	VMOVUPD Y13, (DI)(BX*8); \
	POPCNTQ R9, R9; \
	ADDQ R9, BX

// func addScaledFilterAVX2(out, l, p *float64, n int, q, t float64, perm *uint32) int
// n is a positive multiple of 16. v = l[k] + q*p[k] (VMULPD then VADDPD);
// the values with v >= t (VCMPPD predicate GE_OQ, as Go's >=) are stored
// to out in order. Groups of 16 with no survivor, the common case, cost
// one test. A group of four at k stores four lanes at out[c], c <= k, so
// nothing is written at or beyond out[n].
TEXT ·addScaledFilterAVX2(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ l+8(FP), SI
	MOVQ p+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSD q+32(FP), Y0
	VBROADCASTSD t+40(FP), Y1
	MOVQ perm+48(FP), R8
	XORQ AX, AX
	XORQ BX, BX
floop:
	VMULPD (DX)(AX*8), Y0, Y2
	VMULPD 32(DX)(AX*8), Y0, Y3
	VMULPD 64(DX)(AX*8), Y0, Y4
	VMULPD 96(DX)(AX*8), Y0, Y5
	VADDPD (SI)(AX*8), Y2, Y2
	VADDPD 32(SI)(AX*8), Y3, Y3
	VADDPD 64(SI)(AX*8), Y4, Y4
	VADDPD 96(SI)(AX*8), Y5, Y5
	VCMPPD $0x1d, Y1, Y2, Y6
	VCMPPD $0x1d, Y1, Y3, Y7
	VCMPPD $0x1d, Y1, Y4, Y8
	VCMPPD $0x1d, Y1, Y5, Y9
	VORPD Y6, Y7, Y10
	VORPD Y8, Y9, Y11
	VORPD Y10, Y11, Y10
	VMOVMSKPD Y10, R9
	TESTQ R9, R9
	JNZ fslow
fnext:
	ADDQ $16, AX
	CMPQ AX, CX
	JLT floop
	MOVQ BX, ret+56(FP)
	VZEROUPPER
	RET
fslow:
	COMPACT(Y2, Y6)
	COMPACT(Y3, Y7)
	COMPACT(Y4, Y8)
	COMPACT(Y5, Y9)
	JMP fnext

// func filterAVX2(out, v *float64, n int, t float64, perm *uint32) int
// n is a positive multiple of 16: addScaledFilterAVX2 without the
// arithmetic.
TEXT ·filterAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD t+24(FP), Y1
	MOVQ perm+32(FP), R8
	XORQ AX, AX
	XORQ BX, BX
gloop:
	VMOVUPD (SI)(AX*8), Y2
	VMOVUPD 32(SI)(AX*8), Y3
	VMOVUPD 64(SI)(AX*8), Y4
	VMOVUPD 96(SI)(AX*8), Y5
	VCMPPD $0x1d, Y1, Y2, Y6
	VCMPPD $0x1d, Y1, Y3, Y7
	VCMPPD $0x1d, Y1, Y4, Y8
	VCMPPD $0x1d, Y1, Y5, Y9
	VORPD Y6, Y7, Y10
	VORPD Y8, Y9, Y11
	VORPD Y10, Y11, Y10
	VMOVMSKPD Y10, R9
	TESTQ R9, R9
	JNZ gslow
gnext:
	ADDQ $16, AX
	CMPQ AX, CX
	JLT gloop
	MOVQ BX, ret+40(FP)
	VZEROUPPER
	RET
gslow:
	COMPACT(Y2, Y6)
	COMPACT(Y3, Y7)
	COMPACT(Y4, Y8)
	COMPACT(Y5, Y9)
	JMP gnext

// func gatherAddScaledAVX2(dst, l, p *float64, idx *int32, n, np int, q float64) bool
// n is a positive multiple of 8, 0 < np <= MaxInt32. Pass 1 takes the
// unsigned maximum of the indices (a negative one is huge) and returns
// false, touching nothing, unless it is below np. Pass 2 prefetches every
// p[idx[j]]. Pass 3 computes dst[j] = l[j] + q*p[idx[j]] four at a time:
// VGATHERDPD, VMULPD, then VADDPD — two roundings, as the Go version.
TEXT ·gatherAddScaledAVX2(SB), NOSPLIT, $0-57
	MOVQ dst+0(FP), DI
	MOVQ l+8(FP), SI
	MOVQ p+16(FP), DX
	MOVQ idx+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ np+40(FP), R9
	VPXOR Y1, Y1, Y1
	XORQ AX, AX
gmax:
	VPMAXUD (R8)(AX*4), Y1, Y1
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gmax
	VEXTRACTI128 $1, Y1, X2
	VPMAXUD X2, X1, X1
	VPSHUFD $0x4e, X1, X2
	VPMAXUD X2, X1, X1
	VPSHUFD $0xb1, X1, X2
	VPMAXUD X2, X1, X1
	VMOVD X1, AX
	CMPQ AX, R9
	JAE gbad
	XORQ AX, AX
gpf:
	MOVL (R8)(AX*4), BX
	PREFETCHT0 (DX)(BX*8)
	MOVL 4(R8)(AX*4), BX
	PREFETCHT0 (DX)(BX*8)
	MOVL 8(R8)(AX*4), BX
	PREFETCHT0 (DX)(BX*8)
	MOVL 12(R8)(AX*4), BX
	PREFETCHT0 (DX)(BX*8)
	ADDQ $4, AX
	CMPQ AX, CX
	JLT gpf
	VBROADCASTSD q+48(FP), Y0
	XORQ AX, AX
gloop4:
	VMOVDQU (R8)(AX*4), X2
	VMOVDQU 16(R8)(AX*4), X3
	VPCMPEQD Y4, Y4, Y4
	VPCMPEQD Y5, Y5, Y5
	VGATHERDPD Y4, (DX)(X2*8), Y6
	VGATHERDPD Y5, (DX)(X3*8), Y7
	VMULPD Y6, Y0, Y6
	VMULPD Y7, Y0, Y7
	VADDPD (SI)(AX*8), Y6, Y6
	VADDPD 32(SI)(AX*8), Y7, Y7
	VMOVUPD Y6, (DI)(AX*8)
	VMOVUPD Y7, 32(DI)(AX*8)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT gloop4
	VZEROUPPER
	MOVB $1, ret+56(FP)
	RET
gbad:
	VZEROUPPER
	MOVB $0, ret+56(FP)
	RET
