package tail

// TEMPORARY (analysis only; removed before hand-back).

import (
	"encoding/binary"
	"math"
	"os"
	"strconv"
	"sync"
)

var dumpMu sync.Mutex
var dumpN int
var dumpF *os.File
var dumpSeen = map[any]int{}

func dumpCall(a *Account, legs []Leg) {
	path := os.Getenv("TAILDUMP")
	if path == "" {
		return
	}
	dumpMu.Lock()
	defer dumpMu.Unlock()
	skip, _ := strconv.Atoi(os.Getenv("TAILDUMP_SKIP"))
	max, _ := strconv.Atoi(os.Getenv("TAILDUMP_N"))
	dumpN++
	if dumpN <= skip || dumpN > skip+max {
		return
	}
	if dumpF == nil {
		dumpF, _ = os.Create(path)
	}
	w := func(v ...any) {
		for _, x := range v {
			binary.Write(dumpF, binary.LittleEndian, x)
		}
	}
	vec := func(key any, v []float64) {
		id, ok := dumpSeen[key]
		if ok {
			w(int64(id), int64(0))
			return
		}
		id = len(dumpSeen) + 1
		dumpSeen[key] = id
		w(int64(id), int64(len(v)))
		for _, x := range v {
			w(math.Float64bits(x))
		}
	}
	w(int64(a.spec.KVaR), int64(a.spec.KES), int64(len(legs)))
	vec(a, a.l)
	for _, lg := range legs {
		w(lg.Q)
		vec(lg.In, lg.In.p)
	}
}
