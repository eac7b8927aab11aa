package vfio

import (
	"fmt"
	"os"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
)

// UIOMapsMax is MAX_UIO_MAPS, the number of memory maps one UIO device can
// expose (map0 … map4).
const UIOMapsMax = 5

// UIO is an open UIO device node (/dev/uioN). Unlike VFIO it gives no IOMMU
// protection: a device driven through it DMAs to raw physical addresses.
type UIO struct {
	f    *os.File
	path string
}

// OpenUIO opens a UIO device node.
func OpenUIO(path string) (*UIO, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("vfio: open UIO device: %w", err)
	}
	return &UIO{f: f, path: path}, nil
}

// MapRegion maps size bytes of memory map index (sysfs maps/mapN): the UIO
// convention is the mmap offset index × page size. size is the map's size
// (page aligned, as sysfs reports it).
func (u *UIO) MapRegion(index, size int) (*mmio.Mapping, error) {
	if u.f == nil {
		return nil, ErrClosed
	}
	if index < 0 || index >= UIOMapsMax || size <= 0 || size > RegionBytesMax {
		return nil, fmt.Errorf("%w: UIO map %d of %d bytes on %s (max %d maps, %d bytes)", ErrUnsupported, index, size, u.path, UIOMapsMax, RegionBytesMax)
	}
	m, err := mmio.MapFile(u.f, int64(index)*int64(os.Getpagesize()), size)
	if err != nil {
		return nil, fmt.Errorf("vfio: map UIO map %d of %s: %w", index, u.path, err)
	}
	return m, nil
}

// IRQ enables the device's INTx line and returns its waiter, which shares
// the node's descriptor: a read returns the 32-bit interrupt count.
// uio_pci_generic masks the line in its handler (the command register's
// INTx-disable bit) and has no irqcontrol hook, so the waiter unmasks it
// through cs, the device's configuration space, after each wake-up, and
// masks it again on Close. cs must outlive the waiter.
func (u *UIO) IRQ(cs *ConfigSpace) (*IRQ, error) {
	if u.f == nil {
		return nil, ErrClosed
	}
	unmask := func() error {
		_, err := cs.UpdateCommand(0, PCICommandINTxDisable)
		return err
	}
	if err := unmask(); err != nil {
		return nil, err
	}
	q := &IRQ{fd: int(u.f.Fd()), readBytes: 4, rearm: unmask}
	q.disable = func() error {
		_, err := cs.UpdateCommand(PCICommandINTxDisable, 0)
		return err
	}
	return q, nil
}

// Close releases the node.
func (u *UIO) Close() error {
	if u.f == nil {
		return nil
	}
	err := u.f.Close()
	u.f = nil
	return err
}

// MapResource maps size bytes of a sysfs PCI resource file
// (/sys/bus/pci/devices/ADDR/resourceN): the BAR path for a UIO driver that
// registers no memory maps. It needs CAP_SYS_ADMIN.
func MapResource(path string, size int) (*mmio.Mapping, error) {
	if size <= 0 || size > RegionBytesMax {
		return nil, fmt.Errorf("%w: %d bytes of %s (max %d)", ErrUnsupported, size, path, RegionBytesMax)
	}
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("vfio: open PCI resource: %w", err)
	}
	defer f.Close()
	m, err := mmio.MapFile(f, 0, size)
	if err != nil {
		return nil, fmt.Errorf("vfio: map PCI resource %s: %w", path, err)
	}
	return m, nil
}
