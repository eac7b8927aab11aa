package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// readWords reads a memh file written by tbvec: the count word, then the words.
func readWords(t *testing.T, path string) (int, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var words []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		words = append(words, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(words) == 0 {
		t.Fatalf("%s: empty", path)
	}
	n, err := strconv.ParseUint(words[0], 16, 64)
	if err != nil {
		t.Fatalf("%s: count word %q: %v", path, words[0], err)
	}
	return int(n), words[1:]
}

func TestRunWritesConsistentFiles(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, 16); err != nil {
		t.Fatal(err)
	}
	n, vs := readWords(t, filepath.Join(dir, "philox.memh"))
	if n != len(vs) || n != len(knownAnswers)+4+4+16 {
		t.Fatalf("philox.memh: count %d, %d words", n, len(vs))
	}
	// The three Random123 answers, outputs first (out3..out0).
	want := []string{
		"9b00dbd8bc57ac4ce169c58d6627e8d5",
		"6d5451fda20bc7c641c83b0e408f276d",
		"24126ea15001e42094fdccebd16cfe09",
	}
	for i, w := range want {
		if len(vs[i]) != 80 || vs[i][:32] != w {
			t.Errorf("vector %d = %s, want output %s", i, vs[i], w)
		}
	}
	nj, jobs := readWords(t, filepath.Join(dir, "philox_jobs.memh"))
	nb, blocks := readWords(t, filepath.Join(dir, "philox_out.memh"))
	if nj != len(philoxJobs) || len(jobs) != nj || nb != len(blocks) {
		t.Fatalf("jobs %d/%d, blocks %d/%d", nj, len(jobs), nb, len(blocks))
	}
	// Job 1 runs the third known answer through the device.
	first, err := strconv.ParseUint(jobs[1][:8], 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	if blocks[first] != want[2] {
		t.Errorf("job 1 block 0 = %s, want %s", blocks[first], want[2])
	}
}

func TestJobBlockCounterWraps(t *testing.T) {
	jb := job{arg0: 7, arg1: 0x00000005ffffffff, arg2: 9}
	// Block 1 has ctr0 = 0xffffffff + 1 = 0 with ctr1 unchanged (no carry).
	got := jobBlock(jb, 1)
	same := jobBlock(job{arg0: 7, arg1: 0x0000000500000000, arg2: 9}, 0)
	if got != same {
		t.Fatalf("ctr0 wrap: %08x != %08x", got, same)
	}
}

func TestRunRejectsBounds(t *testing.T) {
	if err := run(t.TempDir(), -1); !errors.Is(err, errBounds) {
		t.Fatalf("run(-1) = %v, want errBounds", err)
	}
	if err := run(t.TempDir(), randomVectorsMax+1); !errors.Is(err, errBounds) {
		t.Fatalf("run(max+1) = %v, want errBounds", err)
	}
}
