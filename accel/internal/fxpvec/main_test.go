package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ballast-risk/ballast/accel/fxp"
)

// readVectors parses a written file back: the count word and every vector.
func readVectors(t *testing.T, path string) []vec {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		t.Fatalf("%s: empty", path)
	}
	n, err := strconv.ParseUint(s.Text(), 16, 64)
	if err != nil || len(s.Text()) != 48 {
		t.Fatalf("%s: bad count line %q", path, s.Text())
	}
	var vs []vec
	for s.Scan() {
		l := s.Text()
		if len(l) != 48 {
			t.Fatalf("%s: line %d is %d digits, want 48", path, len(vs)+2, len(l))
		}
		var w [3]uint64
		for k := range w {
			if w[k], err = strconv.ParseUint(l[16*k:16*k+16], 16, 64); err != nil {
				t.Fatalf("%s: line %d: %v", path, len(vs)+2, err)
			}
		}
		vs = append(vs, vec{inHi: w[0], in: w[1], out: w[2]})
	}
	if uint64(len(vs)) != n {
		t.Fatalf("%s: count word %d, %d vectors", path, n, len(vs))
	}
	return vs
}

func TestRunWritesGoldenVectors(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, 64, 7); err != nil {
		t.Fatal(err)
	}
	files := map[string][]vec{}
	for _, u := range []string{"invnorm", "exp", "normcdf", "normpdf", "recip", "rsqrt", "smul"} {
		vs := readVectors(t, filepath.Join(dir, u+".memh"))
		if len(vs) < 64 || len(vs) > vectorsMax {
			t.Fatalf("%s: %d vectors", u, len(vs))
		}
		files[u] = vs
	}
	// Every vector of every file round-trips through the golden function.
	for _, v := range files["invnorm"] {
		if got := uint64(int64(fxp.InvNorm(uint32(v.in)))); got != v.out || v.in>>32 != 0 {
			t.Fatalf("invnorm %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["exp"] {
		if got := packScaled(fxp.Exp(int32(v.in))); got != v.out {
			t.Fatalf("exp %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["normcdf"] {
		if got := uint64(fxp.NormCDF(int64(v.in))); got != v.out {
			t.Fatalf("normcdf %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["normpdf"] {
		if got := packScaled(fxp.NormPDF(int64(v.in))); got != v.out {
			t.Fatalf("normpdf %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["recip"] {
		if got := packScaled(fxp.Recip(unpackScaled(v.in))); got != v.out {
			t.Fatalf("recip %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["rsqrt"] {
		if got := packScaled(fxp.Rsqrt(unpackScaled(v.in))); got != v.out {
			t.Fatalf("rsqrt %x: file %x, golden %x", v.in, v.out, got)
		}
	}
	for _, v := range files["smul"] {
		if got := packScaled(fxp.Mul(unpackScaled(v.inHi), unpackScaled(v.in))); got != v.out {
			t.Fatalf("smul %x %x: file %x, golden %x", v.inHi, v.in, v.out, got)
		}
	}
	// Pinned points of the contract (docs/accel-numerics.md §5).
	z0 := int64(-1701332580) // InvNorm(0), −6.3379577…
	want := map[uint64]uint64{0: uint64(z0), 1<<31 - 1: 0, 1 << 31: 0}
	seen := 0
	for _, v := range files["invnorm"] {
		if w, ok := want[v.in]; ok {
			seen++
			if v.out != w {
				t.Fatalf("InvNorm(%#x) = %#x, want %#x", v.in, v.out, w)
			}
		}
	}
	if seen == 0 {
		t.Fatal("invnorm vectors miss the pinned words")
	}
	// The carry r = 2^31 → {2^30, E+1} of Recip and Rsqrt is covered.
	for _, u := range []string{"recip", "rsqrt"} {
		carry := false
		for _, v := range files[u] {
			a := unpackScaled(v.in)
			if a.M == 1<<30 && unpackScaled(v.out).M == 1<<30 {
				carry = true
			}
		}
		if !carry {
			t.Fatalf("%s vectors miss M = 2^30", u)
		}
	}
}

func TestRunDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := run(a, 100, 3); err != nil {
		t.Fatal(err)
	}
	if err := run(b, 100, 3); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"exp", "smul"} {
		x, err := os.ReadFile(filepath.Join(a, u+".memh"))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, u+".memh"))
		if err != nil {
			t.Fatal(err)
		}
		if string(x) != string(y) {
			t.Fatalf("%s: two runs with the same seed differ", u)
		}
	}
}

func TestRunRejectsRandomOutOfRange(t *testing.T) {
	for _, n := range []int{-1, randomMax + 1} {
		if err := run(t.TempDir(), n, 1); !errors.Is(err, errRandom) {
			t.Fatalf("run(random=%d) = %v, want errRandom", n, err)
		}
	}
}
