package shm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateOpenShare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	a, err := Create(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unmap()
	if _, err := Create(path, 4096); err == nil {
		t.Fatal("second Create of the same path succeeded")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	b, err := Open(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unmap()
	wa, err := Uint64(a.Bytes(), 64)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := Uint64(b.Bytes(), 64)
	if err != nil {
		t.Fatal(err)
	}
	wa.Store(0xdeadbeef12345678)
	if got := wb.Load(); got != 0xdeadbeef12345678 {
		t.Fatalf("second mapping sees %#x", got)
	}
	if _, err := Open(path, 8192); err == nil {
		t.Fatal("Open accepted a file below minBytes")
	}
	if err := b.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := b.Unmap(); err != nil {
		t.Fatal("second Unmap:", err)
	}
}

func TestWordBounds(t *testing.T) {
	b := Aligned(64)
	for _, off := range []int{-8, 60, 64, 4} {
		if _, err := Uint64(b, off); !errors.Is(err, ErrAlign) {
			t.Errorf("Uint64 at %d: %v, want ErrAlign", off, err)
		}
	}
	for _, off := range []int{-4, 62, 64, 2} {
		if _, err := Uint32(b, off); !errors.Is(err, ErrAlign) {
			t.Errorf("Uint32 at %d: %v, want ErrAlign", off, err)
		}
	}
	if _, err := Uint64(b[1:], 0); !errors.Is(err, ErrAlign) {
		t.Errorf("misaligned base accepted: %v", err)
	}
	w, err := Uint32(b, 60)
	if err != nil {
		t.Fatal(err)
	}
	w.Store(7)
	if b[60] != 7 {
		t.Fatalf("store did not land in the slice")
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("own pid not alive")
	}
	if Alive(0) || Alive(-1) {
		t.Fatal("non-positive pid alive")
	}
	if Alive(1 << 30) {
		t.Fatal("pid 2^30 alive")
	}
}
