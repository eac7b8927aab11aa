package accel

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
)

// hashDomain separates job hashes from any other SHA-256 use.
const hashDomain = "ballast-riskjob-v1\x00"

// Hash identifies a job's inputs and seed: SHA-256 over a domain prefix and
// every field of the job in declaration order, integers as little-endian
// u64, floats as their IEEE-754 bits, slices prefixed by their length. Equal
// jobs give equal hashes; the epoch publishes it so any figure can be traced
// to its inputs.
func (j *RiskJob) Hash() [32]byte {
	h := jobHasher{h: sha256.New()}
	h.h.Write([]byte(hashDomain))
	h.u(uint64(j.Underlyings))
	h.u(uint64(len(j.Instruments)))
	for i := range j.Instruments {
		in := &j.Instruments[i]
		h.u(uint64(in.Kind))
		h.u(uint64(in.Model))
		h.u(uint64(in.Underlying))
		for _, f := range [...]float64{in.S, in.Carry, in.K, in.T, in.R, in.Q, in.Sigma, in.Multiplier} {
			h.f(f)
		}
	}
	sc := &j.Scenarios
	h.u(sc.Seed)
	h.u(uint64(sc.Count))
	h.f(sc.HorizonYears)
	h.fs(sc.Vols)
	h.fs(sc.Cholesky)
	h.u(uint64(sc.StudentTDoF))
	h.f(sc.VolOfVol)
	h.f(sc.SpotVolCorr)
	h.fs(sc.Historical)
	h.u(uint64(j.Stress.Points))
	h.fs(j.Stress.X)
	h.fs(j.Stress.VolMul)
	h.fs(j.Stress.Weight)
	h.u(uint64(len(j.Positions.Start)))
	for _, v := range j.Positions.Start {
		h.u(uint64(v))
	}
	h.u(uint64(len(j.Positions.Instrument)))
	for _, v := range j.Positions.Instrument {
		h.u(uint64(v))
	}
	h.fs(j.Positions.Qty)
	h.u(uint64(j.Model))
	h.u(uint64(j.KVaR))
	h.u(uint64(j.KES))
	var out [32]byte
	h.h.Sum(out[:0])
	return out
}

type jobHasher struct {
	h   hash.Hash
	buf [8]byte
}

func (h *jobHasher) u(v uint64) {
	binary.LittleEndian.PutUint64(h.buf[:], v)
	h.h.Write(h.buf[:])
}

func (h *jobHasher) f(v float64) { h.u(math.Float64bits(v)) }

func (h *jobHasher) fs(v []float64) {
	h.u(uint64(len(v)))
	for _, x := range v {
		h.f(x)
	}
}
