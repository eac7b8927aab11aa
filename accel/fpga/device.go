package fpga

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/vfio"
)

// ErrNoIRQ reports a device opened without an interrupt: the driver polls.
var ErrNoIRQ = errors.New("fpga: device has no usable interrupt")

// ErrClosed reports use of a closed device.
var ErrClosed = errors.New("fpga: device closed")

// Bar is a mapped register BAR: volatile, atomic 32-bit loads and stores at
// byte offsets. Out-of-range or misaligned offsets are errors wrapping
// mmio.ErrAlign. It is valid until the Device is closed.
type Bar struct {
	b []byte
}

// Read32 loads the register at byte offset off.
func (r *Bar) Read32(off uint32) (uint32, error) { return mmio.Load32(r.b, int(off)) }

// Write32 stores v to the register at byte offset off.
func (r *Bar) Write32(off uint32, v uint32) error { return mmio.Store32(r.b, int(off), v) }

// Len is the BAR's size in bytes.
func (r *Bar) Len() int { return len(r.b) }

// Memory is the DMA buffer shared with the card.
type Memory struct {
	b    []byte
	iova uint64
}

// Bytes is the CPU view of the buffer, 4 KiB (in fact huge-page) aligned,
// Config.MemBytes long. It is valid until the Device is closed.
func (m *Memory) Bytes() []byte { return m.b }

// IOVA is the device address of Bytes()[0]: Config.IOVABase under VFIO, the
// physical address under UIO.
func (m *Memory) IOVA() uint64 { return m.iova }

// Device is an open card. Bar, Memory and WaitIRQ may be used until Close;
// WaitIRQ from one goroutine at a time.
type Device struct {
	info   Info
	bar    Bar
	mem    Memory
	irq    *vfio.IRQ
	undo   []func() error
	closed bool
}

// Open finds the card, checks it is usable (failing with Available's
// *UnavailableError when not) and opens it through vfio-pci or
// uio_pci_generic: BAR0 mapped, a huge-page DMA buffer of Config.MemBytes
// addressable by the card, bus mastering on, and an interrupt when the card
// has one.
func Open(cfg Config) (*Device, error) {
	cfg = cfg.withDefaults()
	info, err := Find(cfg)
	if err != nil {
		return nil, err
	}
	if len(info.Problems) > 0 {
		return nil, &UnavailableError{Problems: info.Problems}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Device{info: info}
	switch info.Access {
	case AccessVFIO:
		err = d.openVFIO(cfg)
	case AccessUIO:
		err = d.openUIO(cfg)
	default:
		err = fmt.Errorf("fpga: %s: no access path", info.Address)
	}
	if err != nil {
		if cerr := d.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return d, nil
}

// push records a release step; Close runs them in reverse order.
func (d *Device) push(f func() error) { d.undo = append(d.undo, f) }

func (d *Device) openVFIO(cfg Config) error {
	c, err := vfio.OpenContainer(filepath.Join(cfg.Dev, "vfio", "vfio"))
	if err != nil {
		return err
	}
	d.push(c.Close)
	g, err := vfio.OpenGroup(d.info.GroupNode)
	if err != nil {
		return fmt.Errorf("fpga: %w (is another process using the card?)", err)
	}
	d.push(g.Close)
	if err := g.CheckViable(); err != nil {
		return &UnavailableError{Problems: []Problem{{ReasonGroupNotViable, err.Error()}}}
	}
	if err := g.SetContainer(c); err != nil {
		return err
	}
	d.push(g.UnsetContainer)
	if err := c.SetIOMMU(); err != nil {
		return err
	}
	dev, err := g.Device(d.info.Address)
	if err != nil {
		return err
	}
	d.push(dev.Close)
	di, err := dev.Info()
	if err != nil {
		return err
	}
	if di.Flags&vfio.DeviceFlagsPCI == 0 || di.Regions <= vfio.PCIConfigRegionIndex {
		return fmt.Errorf("fpga: %s is not a VFIO PCI device (flags %#x, %d regions)", d.info.Address, di.Flags, di.Regions)
	}
	if !cfg.NoReset && di.Flags&vfio.DeviceFlagsReset != 0 {
		if err := dev.Reset(); err != nil {
			return err
		}
	}
	r, err := dev.RegionInfo(vfio.PCIBAR0RegionIndex)
	if err != nil {
		return err
	}
	if r.Size < BARBytesMin {
		return fmt.Errorf("fpga: BAR0 of %s is %d bytes, want at least %d", d.info.Address, r.Size, BARBytesMin)
	}
	bar, err := dev.MapRegion(r)
	if err != nil {
		return err
	}
	d.push(bar.Unmap)
	d.bar = Bar{b: bar.Bytes()}

	mem, err := d.allocDMA(cfg)
	if err != nil {
		return err
	}
	iommu, err := c.IOMMUInfo()
	if err != nil {
		return err
	}
	size := uint64(len(mem.Bytes()))
	if !iommu.Covers(cfg.IOVABase, size) {
		return fmt.Errorf("fpga: IOVA window %#x+%d is outside the IOMMU's usable ranges %v: choose another IOVABase", cfg.IOVABase, size, iommu.Ranges)
	}
	if err := c.MapDMA(mem.Bytes(), cfg.IOVABase); err != nil {
		return err
	}
	d.push(func() error { return c.UnmapDMA(cfg.IOVABase, size) })
	d.mem = Memory{b: mem.Bytes()[:cfg.MemBytes], iova: cfg.IOVABase}

	for _, idx := range []uint32{vfio.PCIMSIXIRQIndex, vfio.PCIMSIIRQIndex, vfio.PCIINTxIRQIndex} {
		if idx >= di.IRQs {
			continue
		}
		ii, err := dev.IRQInfo(idx)
		if err != nil {
			return err
		}
		if ii.Count == 0 || ii.Flags&vfio.IRQInfoEventFD == 0 {
			continue
		}
		q, err := dev.EnableIRQ(idx)
		if err != nil {
			return err
		}
		d.push(q.Close)
		d.irq = q
		break
	}
	cs, err := dev.ConfigSpace()
	if err != nil {
		return err
	}
	return d.enableBusMaster(cs)
}

func (d *Device) openUIO(cfg Config) error {
	u, err := vfio.OpenUIO(filepath.Join(cfg.Dev, d.info.UIO))
	if err != nil {
		return err
	}
	d.push(u.Close)
	var bar *mmio.Mapping
	for _, m := range d.info.UIOMaps {
		if m.Addr+m.Offset != d.info.BAR0Phys || m.Size < m.Offset+d.info.BAR0Bytes {
			continue
		}
		mp, err := u.MapRegion(m.Index, int(m.Size))
		if err != nil {
			return err
		}
		d.push(mp.Unmap)
		d.bar = Bar{b: mp.Bytes()[m.Offset : m.Offset+d.info.BAR0Bytes]}
		bar = mp
		break
	}
	if bar == nil {
		// uio_pci_generic before Linux 5.9 registers no maps: map the
		// sysfs resource file instead.
		mp, err := vfio.MapResource(filepath.Join(deviceDir(cfg, d.info.Address), "resource0"), int(d.info.BAR0Bytes))
		if err != nil {
			return err
		}
		d.push(mp.Unmap)
		d.bar = Bar{b: mp.Bytes()}
	}
	mem, err := d.allocDMA(cfg)
	if err != nil {
		return err
	}
	phys, err := vfio.PhysContiguous(mem.Bytes(), int(d.info.Hugepages.PageBytes))
	if err != nil {
		return fmt.Errorf("fpga: UIO DMA buffer: %w", err)
	}
	d.mem = Memory{b: mem.Bytes()[:cfg.MemBytes], iova: phys}
	cs, err := vfio.OpenConfigFile(filepath.Join(deviceDir(cfg, d.info.Address), "config"))
	if err != nil {
		return err
	}
	d.push(cs.Close)
	q, err := u.IRQ(cs)
	if err != nil {
		return err
	}
	d.push(q.Close)
	d.irq = q
	return d.enableBusMaster(cs)
}

// mapDMA maps n bytes of huge-page memory; tests substitute small pages.
var mapDMA = func(n int) (*mmio.Mapping, error) { return mmio.MapAnonymous(n, true) }

// allocDMA maps the huge-page buffer; Close unmaps it.
func (d *Device) allocDMA(cfg Config) (*mmio.Mapping, error) {
	n := allocBytes(cfg, d.info.Hugepages)
	m, err := mapDMA(int(n))
	if err != nil {
		return nil, fmt.Errorf("fpga: DMA buffer of %d bytes in %d kB huge pages: %w (free_hugepages in %s)", n, d.info.Hugepages.PageBytes>>10, err, d.info.Hugepages.Dir)
	}
	d.push(m.Unmap)
	return m, nil
}

// enableBusMaster lets the card issue DMA; Close clears the bit first of
// all, before the buffer is unmapped, so the card cannot write into freed
// memory.
func (d *Device) enableBusMaster(cs *vfio.ConfigSpace) error {
	if _, err := cs.UpdateCommand(vfio.PCICommandMemory|vfio.PCICommandMaster, 0); err != nil {
		return err
	}
	d.push(func() error {
		_, err := cs.UpdateCommand(0, vfio.PCICommandMaster)
		return err
	})
	return nil
}

// Info describes the card as found at open.
func (d *Device) Info() Info { return d.info }

// Bar is BAR0, the register file.
func (d *Device) Bar() *Bar { return &d.bar }

// Memory is the DMA buffer.
func (d *Device) Memory() *Memory { return &d.mem }

// WaitIRQ blocks until the card raises its interrupt (nil), ctx ends
// (ctx.Err()), or returns ErrNoIRQ when the card was opened without one.
// Interrupts that arrive before the call are not lost: they are consumed by
// it (coalesced).
func (d *Device) WaitIRQ(ctx context.Context) error {
	if d.closed {
		return ErrClosed
	}
	if d.irq == nil {
		return ErrNoIRQ
	}
	return d.irq.Wait(ctx)
}

// Close stops the card's bus mastering, disables its interrupt, unmaps the
// DMA buffer from the IOMMU and from memory, unmaps the BAR and closes the
// device, group and container, in that order; it is safe to call twice.
func (d *Device) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for i := len(d.undo) - 1; i >= 0; i-- {
		if err := d.undo[i](); err != nil {
			errs = append(errs, err)
		}
	}
	d.undo = nil
	d.irq = nil
	d.bar = Bar{}
	d.mem = Memory{}
	return errors.Join(errs...)
}
