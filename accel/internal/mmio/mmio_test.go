package mmio

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestMapFileSharedBetweenMappings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shm")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(8192); err != nil {
		t.Fatal(err)
	}
	a, err := MapFile(f, 0, 8192)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unmap()
	b, err := MapFile(f, 4096, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unmap()
	if err := Store64(a.Bytes(), 4096+8, 0x1122334455667788); err != nil {
		t.Fatal(err)
	}
	if v, err := Load64(b.Bytes(), 8); err != nil || v != 0x1122334455667788 {
		t.Fatalf("second mapping reads %#x, %v", v, err)
	}
	if err := Store32(b.Bytes(), 16, 0xCAFEF00D); err != nil {
		t.Fatal(err)
	}
	if v, err := Load32(a.Bytes(), 4096+16); err != nil || v != 0xCAFEF00D {
		t.Fatalf("first mapping reads %#x, %v", v, err)
	}
	if err := a.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := a.Unmap(); err != nil {
		t.Fatalf("second Unmap: %v", err)
	}
}

func TestMapFileRejectsBadArguments(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "shm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		off  int64
		size int
	}{{0, 0}, {0, -1}, {1, 4096}, {-4096, 4096}, {0, MapBytesMax + 1}} {
		if _, err := MapFile(f, c.off, c.size); err == nil {
			t.Errorf("MapFile(off %d, size %d) succeeded", c.off, c.size)
		}
	}
}

func TestAccessBoundsAndAlignment(t *testing.T) {
	m, err := MapAnonymous(4096, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	b := m.Bytes()
	for _, off := range []int{-4, 2, 4093, 4096} {
		if _, err := Load32(b, off); !errors.Is(err, ErrAlign) {
			t.Errorf("Load32(%d): %v, want ErrAlign", off, err)
		}
		if err := Store32(b, off, 1); !errors.Is(err, ErrAlign) {
			t.Errorf("Store32(%d): %v, want ErrAlign", off, err)
		}
	}
	for _, off := range []int{-8, 4, 4089, 4096} {
		if _, err := Load64(b, off); !errors.Is(err, ErrAlign) {
			t.Errorf("Load64(%d): %v, want ErrAlign", off, err)
		}
		if err := Store64(b, off, 1); !errors.Is(err, ErrAlign) {
			t.Errorf("Store64(%d): %v, want ErrAlign", off, err)
		}
		if _, err := Add64(b, off, 1); !errors.Is(err, ErrAlign) {
			t.Errorf("Add64(%d): %v, want ErrAlign", off, err)
		}
	}
	if err := Store32(b, 4092, 7); err != nil {
		t.Fatal(err)
	}
	if b[4092] != 7 {
		t.Fatalf("Store32 is not little-endian: % x", b[4092:])
	}
}

func TestAdd64Concurrent(t *testing.T) {
	m, err := MapAnonymous(4096, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	const workers, adds = 4, 10000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < adds; i++ {
				if _, err := Add64(m.Bytes(), 64, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := Load64(m.Bytes(), 64); v != workers*adds {
		t.Fatalf("counter %d, want %d", v, workers*adds)
	}
}

func BenchmarkLoad32(b *testing.B) {
	m, err := MapAnonymous(4096, false)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Unmap()
	mem := m.Bytes()
	var s uint32
	for i := 0; i < b.N; i++ {
		v, _ := Load32(mem, (i&1023)*4)
		s += v
	}
	_ = s
}
