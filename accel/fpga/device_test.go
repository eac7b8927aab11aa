package fpga

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/vfio"
	"golang.org/x/sys/unix"
)

// The driver consumes these interfaces (accel/driver); the backend's types
// must satisfy them.
type driverBar interface {
	Read32(off uint32) (uint32, error)
	Write32(off uint32, v uint32) error
}

type driverMemory interface {
	Bytes() []byte
	IOVA() uint64
}

var (
	_ driverBar    = (*Bar)(nil)
	_ driverMemory = (*Memory)(nil)
)

func anonBar(t testing.TB, size int) *Bar {
	t.Helper()
	m, err := mmio.MapAnonymous(size, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Unmap() })
	return &Bar{b: m.Bytes()}
}

func TestBarBoundsAndAlignment(t *testing.T) {
	bar := anonBar(t, BARBytesMin)
	if bar.Len() != BARBytesMin {
		t.Fatalf("len %d", bar.Len())
	}
	if err := bar.Write32(0x1C, 0xA5A5F00D); err != nil {
		t.Fatal(err)
	}
	if v, err := bar.Read32(0x1C); err != nil || v != 0xA5A5F00D {
		t.Fatalf("scratch reads %#x, %v", v, err)
	}
	if v, err := bar.Read32(BARBytesMin - 4); err != nil || v != 0 {
		t.Fatalf("last register: %#x, %v", v, err)
	}
	for _, off := range []uint32{1, 2, 3, 0x1E, BARBytesMin, BARBytesMin - 2, BARBytesMin + 4, 1 << 31, ^uint32(0) - 3} {
		if _, err := bar.Read32(off); !errors.Is(err, mmio.ErrAlign) {
			t.Errorf("Read32(%#x): %v, want ErrAlign", off, err)
		}
		if err := bar.Write32(off, 1); !errors.Is(err, mmio.ErrAlign) {
			t.Errorf("Write32(%#x): %v, want ErrAlign", off, err)
		}
	}
	if b := bar.b; binary.LittleEndian.Uint32(b[0x1C:]) != 0xA5A5F00D {
		t.Fatal("register not stored little-endian")
	}
	var closed Bar
	if _, err := closed.Read32(0); !errors.Is(err, mmio.ErrAlign) {
		t.Fatalf("empty BAR read: %v", err)
	}
}

func TestBarDoesNotAllocate(t *testing.T) {
	bar := anonBar(t, BARBytesMin)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := bar.Write32(0x1C, 7); err != nil {
			t.Fatal(err)
		}
		if _, err := bar.Read32(0x08); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per register access", allocs)
	}
}

func BenchmarkBarRead32(b *testing.B) {
	bar := anonBar(b, BARBytesMin)
	b.ReportAllocs()
	var s uint32
	i := uint32(0)
	for b.Loop() {
		v, _ := bar.Read32(i & (BARBytesMin - 4))
		s += v
		i += 4
	}
	_ = s
}

func BenchmarkBarWrite32(b *testing.B) {
	bar := anonBar(b, BARBytesMin)
	b.ReportAllocs()
	i := uint32(0)
	for b.Loop() {
		bar.Write32(i&(BARBytesMin-4), i)
		i += 4
	}
}

// smallPages makes the DMA buffer ordinary memory for the length of a test
// (the test host reserves no huge pages); the fake meminfo then declares a
// 4 kB "huge" page so that sizes and contiguity checks line up.
func smallPages(t *testing.T) {
	old := mapDMA
	mapDMA = func(n int) (*mmio.Mapping, error) { return mmio.MapAnonymous(n, false) }
	t.Cleanup(func() { mapDMA = old })
}

// TestOpenUIOOnFakeHost runs the whole UIO open on a fake tree: BAR0 from
// map0 of a /dev/uio0 stand-in file, a DMA buffer with its physical address
// from the real /proc/self/pagemap, interrupt enable through the node, bus
// mastering through the config file — and Close undoing it.
func TestOpenUIOOnFakeHost(t *testing.T) {
	h := newFakeHost(t)
	h.uioCard()
	h.write("proc/meminfo", "Hugepagesize:       4 kB\n")
	h.setHugepages(4, 16, 16, 0)
	h.cfg.MemBytes = 4096
	smallPages(t)
	cfgPath := filepath.Join(h.cfg.Sysfs, "bus/pci/devices/0000:3b:00.0/config")
	d, err := Open(h.cfg)
	if errors.Is(err, vfio.ErrNoPhysAddr) {
		t.Skipf("no CAP_SYS_ADMIN here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if d.Info().Access != AccessUIO {
		t.Fatalf("access %v", d.Info().Access)
	}
	bar := d.Bar()
	if bar.Len() != 64<<10 {
		t.Fatalf("BAR of %d bytes", bar.Len())
	}
	if err := bar.Write32(0x08, 0x424C5354); err != nil {
		t.Fatal(err)
	}
	node, _ := os.ReadFile(h.path("dev/uio0"))
	if binary.LittleEndian.Uint32(node[0x08:]) != 0x424C5354 {
		t.Fatal("BAR store did not reach the UIO node's map 0")
	}
	mem := d.Memory()
	if len(mem.Bytes()) != 4096 || mem.IOVA() == 0 || mem.IOVA()%4096 != 0 {
		t.Fatalf("memory %d bytes at device address %#x", len(mem.Bytes()), mem.IOVA())
	}
	cfgSpace, _ := os.ReadFile(cfgPath)
	if cmd := binary.LittleEndian.Uint16(cfgSpace[4:]); cmd != vfio.PCICommandMaster|vfio.PCICommandMemory {
		t.Fatalf("command register %#x after open, want memory, bus master, INTx unmasked", cmd)
	}
	// A regular file polls readable: the wait returns at once.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.WaitIRQ(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	cfgSpace, _ = os.ReadFile(cfgPath)
	if cmd := binary.LittleEndian.Uint16(cfgSpace[4:]); cmd != vfio.PCICommandMemory|vfio.PCICommandINTxDisable {
		t.Fatalf("command register %#x after close, want bus mastering off and INTx masked", cmd)
	}
	if err := d.WaitIRQ(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after close: %v", err)
	}
	if _, err := d.Bar().Read32(0x08); err == nil {
		t.Fatal("BAR readable after close")
	}
	if d.Memory().Bytes() != nil {
		t.Fatal("memory visible after close")
	}
}

// TestOpenUIOResourceFallback maps BAR0 through sysfs resource0 when the
// UIO driver registers no maps (uio_pci_generic before Linux 5.9).
func TestOpenUIOResourceFallback(t *testing.T) {
	h := newFakeHost(t)
	h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "uio_pci_generic", group: 12, uio: "uio0"})
	h.node("uio0", 4096)
	h.write("sys/bus/pci/devices/0000:3b:00.0/resource0", string(make([]byte, 64<<10)))
	h.write("proc/meminfo", "Hugepagesize:       4 kB\n")
	h.setHugepages(4, 16, 16, 0)
	h.cfg.MemBytes = 4096
	smallPages(t)
	d, err := Open(h.cfg)
	if errors.Is(err, vfio.ErrNoPhysAddr) {
		t.Skipf("no CAP_SYS_ADMIN here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Bar().Write32(0x1C, 0x600DF00D); err != nil {
		t.Fatal(err)
	}
	res, _ := os.ReadFile(h.path("sys/bus/pci/devices/0000:3b:00.0/resource0"))
	if binary.LittleEndian.Uint32(res[0x1C:]) != 0x600DF00D {
		t.Fatal("BAR store did not reach resource0")
	}
}

// TestOpenUIOWithoutHugepages fails where the huge-page allocation does,
// releasing what it had opened.
func TestOpenUIOWithoutHugepages(t *testing.T) {
	h := newFakeHost(t)
	h.uioCard()
	h.cfg.MemBytes = 2 << 20
	old := mapDMA
	mapDMA = func(n int) (*mmio.Mapping, error) { return nil, unix.ENOMEM }
	defer func() { mapDMA = old }()
	_, err := Open(h.cfg)
	if !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("open: %v", err)
	}
	mustContain(t, err.Error(), "DMA buffer of 2097152 bytes in 2048 kB huge pages", "free_hugepages")
}

// TestOpenVFIOOnFakeHost reaches the first ioctl: the container stand-in is
// a regular file, so VFIO_GET_API_VERSION fails with ENOTTY.
func TestOpenVFIOOnFakeHost(t *testing.T) {
	h := newFakeHost(t)
	h.vfioCard()
	_, err := Open(h.cfg)
	if !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("open: %v", err)
	}
	mustContain(t, err.Error(), "VFIO_GET_API_VERSION")
}

func TestOpenUnavailable(t *testing.T) {
	h := newFakeHost(t)
	h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "xdma", group: 12})
	_, err := Open(h.cfg)
	unavailableErr(t, err, ReasonXDMA)
	_, err = Open(Config{Sysfs: t.TempDir()})
	unavailableErr(t, err, ReasonNoSysfs)
}

func TestWaitIRQWithoutInterrupt(t *testing.T) {
	d := &Device{}
	if err := d.WaitIRQ(context.Background()); !errors.Is(err, ErrNoIRQ) {
		t.Fatalf("%v", err)
	}
}

// TestRealDevice opens the card of this host, if it has one, and checks
// the register file's identity, the scratch register and the buffer.
func TestRealDevice(t *testing.T) {
	if err := Available(Config{}); err != nil {
		if !errors.Is(err, accel.ErrUnavailable) {
			t.Fatalf("Available error %v does not wrap accel.ErrUnavailable", err)
		}
		t.Skip(err.Error())
	}
	d, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}()
	const idMagic, idScratch, magic = 0x08, 0x1C, 0x424C5354
	if v, err := d.Bar().Read32(idMagic); err != nil || v != magic {
		t.Fatalf("ID_MAGIC reads %#x, %v; want %#x", v, err, magic)
	}
	for _, w := range []uint32{0x5A5A5A5A, 0xA5A5A5A5, 0} {
		if err := d.Bar().Write32(idScratch, w); err != nil {
			t.Fatal(err)
		}
		if v, err := d.Bar().Read32(idScratch); err != nil || v != w {
			t.Fatalf("ID_SCRATCH reads %#x after writing %#x (%v)", v, w, err)
		}
	}
	mem := d.Memory()
	if len(mem.Bytes()) != DefaultMemBytes || mem.IOVA() == 0 {
		t.Fatalf("memory %d bytes at %#x", len(mem.Bytes()), mem.IOVA())
	}
	mem.Bytes()[0] = 1
	mem.Bytes()[len(mem.Bytes())-1] = 1
}
