package vfio

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"golang.org/x/sys/unix"
)

// regular writes a regular file standing in for a device node: ioctls on it
// fail with ENOTTY, which exercises every error path up to the kernel.
func regular(t *testing.T, size int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContainerOnNonVFIONode(t *testing.T) {
	if _, err := OpenContainer(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing container: %v", err)
	}
	_, err := OpenContainer(regular(t, 0))
	if !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("regular file as container: %v, want ENOTTY", err)
	}
}

func TestGroupAndDeviceOnNonVFIONode(t *testing.T) {
	g, err := OpenGroup(regular(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.CheckViable(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("status: %v", err)
	}
	c := &Container{f: mustOpen(t, regular(t, 0)), iommu: Type1v2IOMMU}
	defer c.Close()
	if err := g.SetContainer(c); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("set container: %v", err)
	}
	if _, err := g.Device("0000:3b:00.0"); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("get device: %v", err)
	}
	if _, err := g.Device("bad\x00name"); err == nil {
		t.Fatal("NUL in a device name accepted")
	}
	if err := c.SetIOMMU(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("set IOMMU: %v", err)
	}
	if _, err := c.IOMMUInfo(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("IOMMU info: %v", err)
	}
	mem, err := mmio.MapAnonymous(8192, false)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Unmap()
	if err := c.MapDMA(mem.Bytes(), 0x10_0000_0000); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("map DMA: %v", err)
	}
	for _, bad := range []struct {
		b    []byte
		iova uint64
	}{{nil, 0}, {mem.Bytes()[:100], 0}, {mem.Bytes(), 0x10_0000_0001}, {mem.Bytes()[4096:], ^uint64(0) &^ 4095}} {
		if err := c.MapDMA(bad.b, bad.iova); err == nil || errors.Is(err, unix.ENOTTY) {
			t.Errorf("MapDMA(%d bytes, %#x) reached the kernel or succeeded: %v", len(bad.b), bad.iova, err)
		}
	}
	if err := c.UnmapDMA(0x10_0000_0000, 8192); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("unmap DMA: %v", err)
	}

	d := &Device{f: mustOpen(t, regular(t, 4096)), name: "0000:3b:00.0"}
	if _, err := d.Info(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("device info: %v", err)
	}
	if _, err := d.RegionInfo(PCIBAR0RegionIndex); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("region info: %v", err)
	}
	if _, err := d.IRQInfo(PCIMSIIRQIndex); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("IRQ info: %v", err)
	}
	if _, err := d.EnableIRQ(PCIMSIIRQIndex); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("enable IRQ: %v", err)
	}
	if err := d.Reset(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("reset: %v", err)
	}
	if _, err := d.ConfigSpace(); !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("config space: %v", err)
	}
	// Region checks happen before mmap.
	for _, r := range []RegionInfo{
		{Flags: RegionFlagRead | RegionFlagWrite, Size: 65536},
		{Flags: RegionFlagRead | RegionFlagWrite | RegionFlagMmap, Size: 0},
		{Flags: RegionFlagRead | RegionFlagWrite | RegionFlagMmap, Size: RegionBytesMax + 1},
	} {
		if _, err := d.MapRegion(r); !errors.Is(err, ErrUnsupported) {
			t.Errorf("MapRegion(%+v): %v, want ErrUnsupported", r, err)
		}
	}
	// A regular file maps like a region does: offset and size honoured.
	m, err := d.MapRegion(RegionInfo{Flags: RegionFlagRead | RegionFlagWrite | RegionFlagMmap, Size: 4096})
	if err != nil {
		t.Fatal(err)
	}
	m.Unmap()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Info(); !errors.Is(err, ErrClosed) {
		t.Fatalf("info after close: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRealContainer opens the host's VFIO container when there is one.
func TestRealContainer(t *testing.T) {
	const path = "/dev/vfio/vfio"
	if err := Access(path); err != nil {
		t.Skipf("no VFIO container on this host: %v", err)
	}
	c, err := OpenContainer(path)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("VFIO without a Type1 IOMMU: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.IOMMUType() != Type1v2IOMMU && c.IOMMUType() != Type1IOMMU {
		t.Errorf("IOMMU type %d", c.IOMMUType())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigSpaceCommand(t *testing.T) {
	p := regular(t, 256)
	b := make([]byte, 256)
	binary.LittleEndian.PutUint16(b[PCICommandOffset:], PCICommandMemory|PCICommandINTxDisable)
	binary.LittleEndian.PutUint16(b[PCICommandOffset+2:], 0x0010) // status: capabilities list
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenConfigFile(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.UpdateCommand(PCICommandMaster, PCICommandINTxDisable)
	if err != nil || v != PCICommandMemory|PCICommandMaster {
		t.Fatalf("update: %#x, %v", v, err)
	}
	if got, err := c.Command(); err != nil || got != v {
		t.Fatalf("read back %#x, %v", got, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p)
	if cmd := binary.LittleEndian.Uint16(after[PCICommandOffset:]); cmd != PCICommandMemory|PCICommandMaster {
		t.Fatalf("file command %#x", cmd)
	}
	if st := binary.LittleEndian.Uint16(after[PCICommandOffset+2:]); st != 0x0010 {
		t.Fatalf("status register clobbered: %#x", st)
	}
	if _, err := c.Command(); !errors.Is(err, ErrClosed) {
		t.Fatalf("command after close: %v", err)
	}
	short := regular(t, 4)
	c2, err := OpenConfigFile(short)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Command(); err == nil {
		t.Fatal("command register read past the end of config space")
	}
}

func TestUIOMapAndInterruptControl(t *testing.T) {
	page := os.Getpagesize()
	p := regular(t, 3*page)
	f := mustOpen(t, p)
	// Map 1 of a UIO node lives at mmap offset 1 × page size.
	if _, err := f.WriteAt([]byte{0xEF, 0xBE, 0xAD, 0xDE}, int64(page)+8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	u, err := OpenUIO(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := u.MapRegion(1, page)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := mmio.Load32(m.Bytes(), 8); err != nil || v != 0xDEADBEEF {
		t.Fatalf("map 1 reads %#x, %v", v, err)
	}
	m.Unmap()
	for _, bad := range [][2]int{{-1, page}, {UIOMapsMax, page}, {0, 0}, {0, RegionBytesMax + 1}} {
		if _, err := u.MapRegion(bad[0], bad[1]); !errors.Is(err, ErrUnsupported) {
			t.Errorf("MapRegion(%d, %d): %v", bad[0], bad[1], err)
		}
	}
	// IRQ unmasks INTx in config space, each wake-up unmasks it again
	// (uio_pci_generic's handler masks it), Close masks it.
	cfgPath := regular(t, 256)
	cs, err := OpenConfigFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.UpdateCommand(PCICommandINTxDisable|PCICommandMemory, 0); err != nil {
		t.Fatal(err)
	}
	q, err := u.IRQ(cs)
	if err != nil {
		t.Fatal(err)
	}
	if cmd, _ := cs.Command(); cmd != PCICommandMemory {
		t.Fatalf("command %#x after enable", cmd)
	}
	cs.UpdateCommand(PCICommandINTxDisable, 0) // as the kernel's handler does
	// A regular file polls readable, standing in for a pending interrupt.
	if err := q.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cmd, _ := cs.Command(); cmd != PCICommandMemory {
		t.Fatalf("command %#x after wake-up, want INTx unmasked", cmd)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if cmd, _ := cs.Command(); cmd != PCICommandMemory|PCICommandINTxDisable {
		t.Fatalf("command %#x after close, want INTx masked", cmd)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := u.IRQ(cs); !errors.Is(err, ErrClosed) {
		t.Fatalf("IRQ after close: %v", err)
	}
}

func TestMapResource(t *testing.T) {
	p := regular(t, 65536)
	m, err := MapResource(p, 65536)
	if err != nil {
		t.Fatal(err)
	}
	if err := mmio.Store32(m.Bytes(), 0x1C, 0x5a5a5a5a); err != nil {
		t.Fatal(err)
	}
	m.Unmap()
	got, _ := os.ReadFile(p)
	if binary.LittleEndian.Uint32(got[0x1C:]) != 0x5a5a5a5a {
		t.Fatal("store through the resource mapping did not reach the file")
	}
	if _, err := MapResource(p, 0); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("zero size: %v", err)
	}
	if _, err := MapResource(filepath.Join(t.TempDir(), "none"), 4096); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing resource: %v", err)
	}
}

func TestMemlockAndAccess(t *testing.T) {
	if _, err := MemlockBytes(); err != nil {
		t.Fatal(err)
	}
	if err := Access(filepath.Join(t.TempDir(), "none")); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("access of a missing node: %v", err)
	}
	if err := Access(regular(t, 0)); err != nil {
		t.Fatalf("access of a writable file: %v", err)
	}
}
