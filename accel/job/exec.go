package job

import (
	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// Completion status codes the executors return (docs/accel.md §5).
const (
	// StatusOK is a successful completion.
	StatusOK = regs.CodeOK
	// StatusBadDesc is BAD_DESC: a malformed header, record or array, or a
	// buffer too short for what the header describes.
	StatusBadDesc = regs.CodeBadDesc
)

// The executors are the device's operations in Go: they read only the
// buffers they are given, validate every header field, record and array
// before writing anything, and answer StatusBadDesc (writing nothing) for
// anything malformed. They never panic on bad input. They run on the
// calling goroutine and allocate only per-call scratch.

// u32at and u64at read a field of b; the caller has checked the length.
func u32at(b []byte, off int) uint32 { return le.Uint32(b[off:]) }
func u64at(b []byte, off int) uint64 { return le.Uint64(b[off:]) }

// array checks that n elements of size bytes at byte offset off lie inside
// a buffer of length bufLen after its header, 8-byte aligned, and returns
// the offset.
func array(off uint64, n, size int, header, bufLen int) (int, bool) {
	if off%8 != 0 || off < uint64(header) || off > uint64(bufLen) {
		return 0, false
	}
	if uint64(n)*uint64(size) > uint64(bufLen)-off {
		return 0, false
	}
	return int(off), true
}

// ExecScenGen executes SCENGEN: for every column c in [0, S_mc) it
// generates the scenario first+c (fxp.ScenarioParams.Row on the decoded
// scenario record) and writes x into row u of X (dst, U × Sp int32) and,
// with vol shocks, m into row u of M (dst at U·Sp·4). Other columns are not
// touched. It returns the size of the matrices and the completion status.
func ExecScenGen(src, dst []byte) (outBytes int, status uint16) {
	if len(src) < ScenGenHeaderBytes || u32at(src, sgMagic) != MagicScenGen ||
		u32at(src, sgReserved) != 0 || u64at(src, sgReserved2) != 0 {
		return 0, StatusBadDesc
	}
	smc, sp, first := int(u32at(src, sgSMC)), int(u32at(src, sgSp)), u64at(src, sgFirst)
	if sp < ColumnAlign || sp > StrideMax || sp%ColumnAlign != 0 || smc > sp || first+uint64(smc) < first {
		return 0, StatusBadDesc
	}
	scen, _, err := fxp.ScenarioRecord(src[ScenGenHeaderBytes:])
	if err != nil {
		return 0, StatusBadDesc
	}
	u := scen.Underlyings()
	mats := 1
	if scen.VolShocks() {
		mats = 2
	}
	out := mats * 4 * u * sp
	if len(dst) < out {
		return 0, StatusBadDesc
	}
	x := make([]int32, u)
	var m []uint32
	if scen.VolShocks() {
		m = make([]uint32, u)
	}
	row := 4 * sp
	for c := range smc {
		scen.Row(first+uint64(c), x, m)
		for k, v := range x {
			le.PutUint32(dst[k*row+4*c:], uint32(v))
		}
		for k, v := range m {
			le.PutUint32(dst[(u+k)*row+4*c:], v)
		}
	}
	return out, StatusOK
}

// ExecReval executes REVAL: for every instrument i (record i, underlying
// u_i) and column c in [0, C) it writes loss[i][c] = Loss(ValueDGV(x, m))
// for c < C_dgv and Loss(Value(x, m)) otherwise, x = X[u_i][c], m =
// M[u_i][c] (fxp.MOne without the M flag), into the loss matrix (dst after
// the V0 array, I × Sp int64; columns [C, Sp) are written as 0), and each
// record's V0 into the V0 array. scen is the scenario buffer (X, then M).
func ExecReval(src, scen, dst []byte) (outBytes int, status uint16) {
	if len(src) < RevalHeaderBytes || u32at(src, rvMagic) != MagicReval || u32at(src, rvRecBytes) != fxp.InstrumentRecordBytes {
		return 0, StatusBadDesc
	}
	for off := rvReserved; off < RevalHeaderBytes; off += 8 {
		if u64at(src, off) != 0 {
			return 0, StatusBadDesc
		}
	}
	ni, nu, sp := int(u32at(src, rvI)), int(u32at(src, rvU)), int(u32at(src, rvSp))
	cols, cdgv, flags := int(u32at(src, rvC)), int(u32at(src, rvCDGV)), u32at(src, rvFlags)
	switch {
	case ni < 1 || ni > accel.InstrumentsMax, nu < 1 || nu > accel.UnderlyingsMax,
		sp < ColumnAlign || sp > StrideMax || sp%ColumnAlign != 0,
		cols < 1 || cols > sp, cdgv > cols, flags&^RevalFlagM != 0:
		return 0, StatusBadDesc
	}
	recs, ok := array(u64at(src, rvRecords), ni, fxp.InstrumentRecordBytes, RevalHeaderBytes, len(src))
	if !ok {
		return 0, StatusBadDesc
	}
	mats := 1
	if flags&RevalFlagM != 0 {
		mats = 2
	}
	v0b := v0Bytes(ni)
	out := v0b + 8*ni*sp
	if len(scen) < mats*4*nu*sp || len(dst) < out {
		return 0, StatusBadDesc
	}
	ins := make([]*fxp.InstrumentParams, ni)
	under := make([]int, ni)
	for i := range ins {
		ip, ul, err := fxp.InstrumentRecord(src[recs+i*fxp.InstrumentRecordBytes:])
		if err != nil || int(ul) >= nu {
			return 0, StatusBadDesc
		}
		ins[i], under[i] = ip, int(ul)
	}
	clear(dst[8*ni : v0b])
	row := 4 * sp
	for i, ip := range ins {
		le.PutUint64(dst[8*i:], uint64(ip.Value0()))
		xr := scen[under[i]*row : (under[i]+1)*row]
		var mr []byte
		if mats == 2 {
			mr = scen[(nu+under[i])*row : (nu+under[i]+1)*row]
		}
		lr := dst[v0b+8*i*sp : v0b+8*(i+1)*sp]
		for c := range cols {
			x := int32(le.Uint32(xr[4*c:]))
			m := uint32(fxp.MOne)
			if mr != nil {
				m = le.Uint32(mr[4*c:])
			}
			var v int64
			if c < cdgv {
				v = ip.ValueDGV(x, m)
			} else {
				v = ip.Value(x, m)
			}
			le.PutUint64(lr[8*c:], uint64(ip.Loss(v)))
		}
		clear(lr[8*cols:])
	}
	return out, StatusOK
}

// ExecAggTail executes AGGTAIL: for every account a, L_a[s] = Σ qty_j ·
// loss[instr_j][s] over its positions j, for s in [0, S), in int64; its tail
// record {VaR (the kVaR-th largest), ESsum (the sum of the kES largest),
// Sum, 0} (fxp.TailSums) at dst + 32·a; and, with the account-loss flag,
// L_a as row a of the account-loss matrix after the records (columns
// [S, Sp) written as 0). loss is the REVAL output's loss matrix (row i at
// 8·i·Sp): its length gives the row count I (the descriptor's arg1).
func ExecAggTail(src, loss, dst []byte) (outBytes int, status uint16) {
	if len(src) < AggTailHeaderBytes || u32at(src, agMagic) != MagicAggTail || u64at(src, agReserved) != 0 {
		return 0, StatusBadDesc
	}
	na, s, sp := int(u32at(src, agA)), int(u32at(src, agS)), int(u32at(src, agSp))
	kv, ke, np, flags := int(u32at(src, agKVaR)), int(u32at(src, agKES)), int(u32at(src, agP)), u32at(src, agFlags)
	switch {
	case na > accel.AccountsMax, np > accel.PositionsMax, flags&^AggTailFlagAccountLoss != 0,
		sp < ColumnAlign || sp > StrideMax || sp%ColumnAlign != 0, s < 1 || s > sp,
		kv < 1 || kv > s, ke < 1 || ke > s:
		return 0, StatusBadDesc
	}
	start, ok1 := array(u64at(src, agStart), na+1, 4, AggTailHeaderBytes, len(src))
	instr, ok2 := array(u64at(src, agInstr), np, 4, AggTailHeaderBytes, len(src))
	qty, ok3 := array(u64at(src, agQty), np, 8, AggTailHeaderBytes, len(src))
	if !ok1 || !ok2 || !ok3 {
		return 0, StatusBadDesc
	}
	rows := len(loss) / (8 * sp)
	out := tailBytes(na)
	if flags&AggTailFlagAccountLoss != 0 {
		out += 8 * na * sp
	}
	if len(dst) < out {
		return 0, StatusBadDesc
	}
	if u32at(src, start) != 0 || int(u32at(src, start+4*na)) != np {
		return 0, StatusBadDesc
	}
	for a := range na {
		if u32at(src, start+4*a+4) < u32at(src, start+4*a) {
			return 0, StatusBadDesc
		}
	}
	for j := range np {
		if int(u32at(src, instr+4*j)) >= rows {
			return 0, StatusBadDesc
		}
	}
	tb := tailBytes(na)
	clear(dst[TailRecordBytes*na : tb])
	acc := make([]int64, s)
	scratch := make([]int64, s)
	for a := range na {
		clear(acc)
		for j := u32at(src, start+4*a); j < u32at(src, start+4*a+4); j++ {
			q := int64(u64at(src, qty+8*int(j)))
			lr := loss[8*sp*int(u32at(src, instr+4*int(j))):]
			for c := range acc {
				acc[c] += q * int64(le.Uint64(lr[8*c:]))
			}
		}
		v, es, sum := fxp.TailSums(acc, kv, ke, scratch)
		r := dst[TailRecordBytes*a:]
		le.PutUint64(r, uint64(v))
		le.PutUint64(r[8:], uint64(es))
		le.PutUint64(r[16:], uint64(sum))
		le.PutUint64(r[24:], 0)
		if flags&AggTailFlagAccountLoss != 0 {
			al := dst[tb+8*sp*a : tb+8*sp*(a+1)]
			for c, l := range acc {
				le.PutUint64(al[8*c:], uint64(l))
			}
			clear(al[8*s:])
		}
	}
	return out, StatusOK
}

// ExecGreeks executes GREEKS: for every instrument record i it writes
// fxp.GreeksQ {Price, Delta, Gamma, Vega, Theta, Rho, Vanna, Volga} as
// eight int64 at dst + 64·i.
func ExecGreeks(src, dst []byte) (outBytes int, status uint16) {
	if len(src) < GreeksHeaderBytes || u32at(src, gkMagic) != MagicGreeks ||
		u32at(src, gkRecBytes) != fxp.InstrumentRecordBytes || u32at(src, gkReserved) != 0 {
		return 0, StatusBadDesc
	}
	for off := gkReserved2; off < GreeksHeaderBytes; off += 8 {
		if u64at(src, off) != 0 {
			return 0, StatusBadDesc
		}
	}
	ni := int(u32at(src, gkI))
	if ni < 1 || ni > accel.InstrumentsMax {
		return 0, StatusBadDesc
	}
	recs, ok := array(u64at(src, gkRecords), ni, fxp.InstrumentRecordBytes, GreeksHeaderBytes, len(src))
	out := GreeksRecordBytes * ni
	if !ok || len(dst) < out {
		return 0, StatusBadDesc
	}
	ins := make([]*fxp.InstrumentParams, ni)
	for i := range ins {
		ip, _, err := fxp.InstrumentRecord(src[recs+i*fxp.InstrumentRecordBytes:])
		if err != nil {
			return 0, StatusBadDesc
		}
		ins[i] = ip
	}
	for i, ip := range ins {
		putGreeks(dst[GreeksRecordBytes*i:], ip.Greeks())
	}
	return out, StatusOK
}

func putGreeks(b []byte, g fxp.GreeksQ) {
	for k, v := range [8]int64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho, g.Vanna, g.Volga} {
		le.PutUint64(b[8*k:], uint64(v))
	}
}

func getGreeks(b []byte) fxp.GreeksQ {
	var v [8]int64
	for k := range v {
		v[k] = int64(le.Uint64(b[8*k:]))
	}
	return fxp.GreeksQ{Price: v[0], Delta: v[1], Gamma: v[2], Vega: v[3], Theta: v[4], Rho: v[5], Vanna: v[6], Volga: v[7]}
}
