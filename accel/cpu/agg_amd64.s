#include "textflag.h"

// func aggAVX512(acc *[BlockScenarios]int64, loss *int64, inst *uint32, qty *int64, n int)
//
// acc[0:32] += qty[j] · loss[inst[j]·32 : inst[j]·32+32] for j < n, in int64
// with wrap-around (VPMULLQ keeps the low 64 bits, as Go's multiply does).
// The 32 accumulators stay in Z0–Z3 across the positions.
TEXT ·aggAVX512(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ loss+8(FP), SI
	MOVQ inst+16(FP), BX
	MOVQ qty+24(FP), DX
	MOVQ n+32(FP), CX
	VMOVDQU64 (DI), Z0
	VMOVDQU64 64(DI), Z1
	VMOVDQU64 128(DI), Z2
	VMOVDQU64 192(DI), Z3
	TESTQ CX, CX
	JZ done

loop:
	MOVL (BX), AX
	SHLQ $8, AX // 32 int64 = 256 bytes per loss row
	VPBROADCASTQ (DX), Z4
	VPMULLQ (SI)(AX*1), Z4, Z5
	VPMULLQ 64(SI)(AX*1), Z4, Z6
	VPMULLQ 128(SI)(AX*1), Z4, Z7
	VPMULLQ 192(SI)(AX*1), Z4, Z8
	VPADDQ Z5, Z0, Z0
	VPADDQ Z6, Z1, Z1
	VPADDQ Z7, Z2, Z2
	VPADDQ Z8, Z3, Z3
	ADDQ $4, BX
	ADDQ $8, DX
	DECQ CX
	JNZ loop

done:
	VMOVDQU64 Z0, (DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	VZEROUPPER
	RET
