// Command tbvec writes the test vectors of the RTL testbenches (hdl/tb) from
// the Go golden code, as $readmemh images: the RTL is checked against the
// same functions the CPU backend and the float64 reference use.
//
// Usage:
//
//	go run ./accel/internal/tbvec [-out hdl/build/vectors] [-random 1024]
//
// Files (one hex word per line; the first word of each file is its count):
//
//	philox.memh      Philox4x32-10 vectors for tb_philox: word i is
//	                 {out3..out0, key1 key0, ctr3..ctr0} (320 bits, word k of
//	                 each field at bits [32k +: 32] of the field): the three
//	                 Random123 known answers, counter-word edge cases and
//	                 pseudo-random counters and keys.
//	philox_jobs.memh SELFTEST_PHILOX jobs for tb_top: word i is
//	                 {first(32), blocks(32), arg2(64), arg1(64), arg0(64)}.
//	philox_out.memh  the expected output blocks of those jobs (128 bits each,
//	                 word 0 in bits [31:0]); job i's blocks start at `first`.
//
// The vectors are build outputs (hdl/build/ is git-ignored), never committed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ballast-risk/ballast/engine/scenario"
)

// Bounds on what one run writes.
const (
	randomVectorsMax = 1 << 20 // -random
	jobBlocksMax     = 1 << 16 // blocks of one SELFTEST_PHILOX job
)

// Seed of the pseudo-random vectors: fixed, so every run writes the same files.
const vectorSeed = 0xBA11A57

// errBounds reports a flag outside its documented range.
var errBounds = errors.New("tbvec: value out of range")

// vector is one Philox4x32 case.
type vector struct {
	ctr [4]uint32
	key [2]uint32
}

// job is one SELFTEST_PHILOX descriptor of tb_top.
type job struct {
	arg0, arg1, arg2 uint64
	blocks           uint32
}

// knownAnswers are the counters and keys of Random123's kat_vectors
// "philox4x32 10" lines (their outputs are checked in engine/scenario).
var knownAnswers = []vector{
	{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}},
	{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}},
	{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}},
}

// philoxJobs are the SELFTEST_PHILOX jobs tb_top runs. Job 0 is the
// 1024-block throughput job; job 1 reproduces the third known answer through
// the whole device; job 2 makes lo32(arg1)+j wrap past 2^32.
var philoxJobs = []job{
	{arg0: 0x0123456789abcdef, arg1: 0, arg2: 0, blocks: 1024},
	{arg0: 0x299f31d0a4093822, arg1: 0x85a308d3243f6a88, arg2: 0x0370734413198a2e, blocks: 1},
	{arg0: 0xfedcba9876543210, arg1: 0x00000001fffffff0, arg2: 0x8000000000000001, blocks: 40},
	{arg0: 0, arg1: 0, arg2: 0, blocks: 3},
	{arg0: 0x5555aaaa5555aaaa, arg1: 0x1234, arg2: 0x9876543210, blocks: 17},
}

func main() {
	out := flag.String("out", "hdl/build/vectors", "directory to write the vector files to")
	random := flag.Int("random", 1024, "pseudo-random Philox vectors beyond the fixed ones")
	flag.Parse()
	if err := run(*out, *random); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(dir string, random int) error {
	if random < 0 || random > randomVectorsMax {
		return fmt.Errorf("%w: -random %d not in [0, %d]", errBounds, random, randomVectorsMax)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tbvec: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "philox.memh"), func(w io.Writer) error {
		return writePhilox(w, philoxVectors(random))
	}); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "philox_jobs.memh"), func(w io.Writer) error {
		return writeJobs(w, philoxJobs)
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "philox_out.memh"), func(w io.Writer) error {
		return writeJobBlocks(w, philoxJobs)
	})
}

// philoxVectors returns the known answers, counter-word edge cases and
// `random` pseudo-random cases.
func philoxVectors(random int) []vector {
	v := append([]vector(nil), knownAnswers...)
	for w := 0; w < 4; w++ {
		var c [4]uint32
		c[w] = 0xffffffff
		v = append(v, vector{ctr: c, key: [2]uint32{uint32(w), 0xffffffff}})
	}
	for b := uint32(0); b < 4; b++ {
		v = append(v, vector{ctr: scenario.Counter(b, scenario.StreamMarket, 1<<32+uint64(b)), key: scenario.SeedKey(42)})
	}
	r := rand.New(rand.NewPCG(vectorSeed, vectorSeed^0x9e3779b97f4a7c15))
	for i := 0; i < random; i++ {
		v = append(v, vector{
			ctr: [4]uint32{r.Uint32(), r.Uint32(), r.Uint32(), r.Uint32()},
			key: [2]uint32{r.Uint32(), r.Uint32()},
		})
	}
	return v
}

// jobBlock returns block j of a SELFTEST_PHILOX job (docs/accel.md §4).
func jobBlock(jb job, j uint32) [4]uint32 {
	ctr := [4]uint32{uint32(jb.arg1) + j, uint32(jb.arg1 >> 32), uint32(jb.arg2), uint32(jb.arg2 >> 32)}
	return scenario.Philox4x32(ctr, [2]uint32{uint32(jb.arg0), uint32(jb.arg0 >> 32)})
}

func writePhilox(w io.Writer, vs []vector) error {
	if _, err := fmt.Fprintf(w, "%080x\n", len(vs)); err != nil {
		return err
	}
	for _, v := range vs {
		o := scenario.Philox4x32(v.ctr, v.key)
		if _, err := fmt.Fprintf(w, "%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x\n",
			o[3], o[2], o[1], o[0], v.key[1], v.key[0], v.ctr[3], v.ctr[2], v.ctr[1], v.ctr[0]); err != nil {
			return err
		}
	}
	return nil
}

func writeJobs(w io.Writer, jobs []job) error {
	if _, err := fmt.Fprintf(w, "%064x\n", len(jobs)); err != nil {
		return err
	}
	first := uint32(0)
	for _, jb := range jobs {
		if jb.blocks > jobBlocksMax {
			return fmt.Errorf("%w: job of %d blocks, max %d", errBounds, jb.blocks, jobBlocksMax)
		}
		if _, err := fmt.Fprintf(w, "%08x%08x%016x%016x%016x\n", first, jb.blocks, jb.arg2, jb.arg1, jb.arg0); err != nil {
			return err
		}
		first += jb.blocks
	}
	return nil
}

func writeJobBlocks(w io.Writer, jobs []job) error {
	total := 0
	for _, jb := range jobs {
		total += int(jb.blocks)
	}
	if _, err := fmt.Fprintf(w, "%032x\n", total); err != nil {
		return err
	}
	for _, jb := range jobs {
		for j := uint32(0); j < jb.blocks; j++ {
			o := jobBlock(jb, j)
			if _, err := fmt.Fprintf(w, "%08x%08x%08x%08x\n", o[3], o[2], o[1], o[0]); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFile writes a file through fill, atomically (temporary file + rename).
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tbvec-*")
	if err != nil {
		return fmt.Errorf("tbvec: %w", err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := fill(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("tbvec: %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("tbvec: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tbvec: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tbvec: %w", err)
	}
	return nil
}
