//go:build amd64 && !race

#include "textflag.h"

// func storeRelease64(p *atomic.Uint64, v uint64)
TEXT ·storeRelease64(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, 0(AX)
	RET
