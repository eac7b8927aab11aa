package vfio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"unsafe"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"golang.org/x/sys/unix"
)

// Errors for conditions of the host or device; each is wrapped with the
// path, request and errno that produced it.
var (
	// ErrUnsupported reports a kernel or device that lacks what the driver
	// needs (API version, IOMMU type, a mappable region).
	ErrUnsupported = errors.New("vfio: not supported by this kernel or device")
	// ErrNotViable reports a group with a device bound to a host driver.
	ErrNotViable = errors.New("vfio: group not viable")
	// ErrClosed reports use of a closed object.
	ErrClosed = errors.New("vfio: closed")
)

// Bounds.
const (
	// RegionBytesMax bounds one mapped device region (256 MiB).
	RegionBytesMax = 256 << 20
	// infoBytesMax bounds the capability chain buffer the kernel may ask for.
	infoBytesMax = 64 << 10
)

// ioctl issues request req on f with argument arg (a plain integer).
func ioctl(f *os.File, req, arg uintptr) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, arg)
		runtime.KeepAlive(f)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

// ioctlPtr issues request req on f with a pointer to the argument structure.
func ioctlPtr(f *os.File, req uintptr, p unsafe.Pointer) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(p))
		runtime.KeepAlive(f)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return r, errno
		}
		return r, nil
	}
}

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Container is a VFIO container: one IOMMU context shared by the groups
// attached to it.
type Container struct {
	f     *os.File
	iommu uintptr
}

// OpenContainer opens the container device (normally /dev/vfio/vfio), checks
// the API version and picks the IOMMU model: Type1v2 where the kernel offers
// it, else Type1.
func OpenContainer(path string) (*Container, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("vfio: open container: %w", err)
	}
	c := &Container{f: f}
	v, err := ioctl(f, reqGetAPIVersion, 0)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vfio: VFIO_GET_API_VERSION on %s: %w", path, err)
	}
	if v != APIVersion {
		f.Close()
		return nil, fmt.Errorf("%w: %s speaks VFIO API version %d, want %d", ErrUnsupported, path, v, APIVersion)
	}
	for _, t := range []uintptr{Type1v2IOMMU, Type1IOMMU} {
		ok, err := ioctl(f, reqCheckExtension, t)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("vfio: VFIO_CHECK_EXTENSION(%d) on %s: %w", t, path, err)
		}
		if ok > 0 {
			c.iommu = t
			return c, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("%w: %s offers no Type1 IOMMU (modprobe vfio_iommu_type1; is the IOMMU enabled?)", ErrUnsupported, path)
}

// IOMMUType is the IOMMU model SetIOMMU selects (Type1v2IOMMU or
// Type1IOMMU).
func (c *Container) IOMMUType() int { return int(c.iommu) }

// SetIOMMU selects the container's IOMMU model; it needs at least one group
// attached.
func (c *Container) SetIOMMU() error {
	if c.f == nil {
		return ErrClosed
	}
	if _, err := ioctl(c.f, reqSetIOMMU, c.iommu); err != nil {
		return fmt.Errorf("vfio: VFIO_SET_IOMMU(%d): %w", c.iommu, err)
	}
	return nil
}

// IOVARange is a window of I/O virtual addresses the IOMMU can map, with an
// inclusive end as the kernel reports it.
type IOVARange struct {
	Start, End uint64
}

// IOMMUInfo describes the container's IOMMU.
type IOMMUInfo struct {
	// PageSizes is the bitmap of supported IOMMU page sizes (bit k: 2^k
	// bytes); 0 when the kernel did not report it.
	PageSizes uint64
	// Ranges are the usable IOVA windows; empty when the kernel did not
	// report them (every address is then assumed usable).
	Ranges []IOVARange
}

// Covers reports whether [iova, iova+size) lies in one usable window.
func (i IOMMUInfo) Covers(iova, size uint64) bool {
	// The window's last byte, iova+size-1, may be the top of the 64-bit
	// space (ranges are inclusive); only beyond it does it wrap.
	if size == 0 || size-1 > math.MaxUint64-iova {
		return false
	}
	if len(i.Ranges) == 0 {
		return true
	}
	last := iova + (size - 1)
	for _, r := range i.Ranges {
		if iova >= r.Start && last <= r.End {
			return true
		}
	}
	return false
}

// IOMMUInfo queries page sizes and usable IOVA ranges; the IOMMU must be
// set.
func (c *Container) IOMMUInfo() (IOMMUInfo, error) {
	if c.f == nil {
		return IOMMUInfo{}, ErrClosed
	}
	hdr := iommuType1Info{argsz: uint32(unsafe.Sizeof(iommuType1Info{}))}
	if _, err := ioctlPtr(c.f, reqIOMMUGetInfo, unsafe.Pointer(&hdr)); err != nil {
		return IOMMUInfo{}, fmt.Errorf("vfio: VFIO_IOMMU_GET_INFO: %w", err)
	}
	n := int(unsafe.Sizeof(hdr))
	if hdr.flags&iommuInfoCaps != 0 && int(hdr.argsz) > n {
		if hdr.argsz > infoBytesMax {
			return IOMMUInfo{}, fmt.Errorf("%w: VFIO_IOMMU_GET_INFO wants %d bytes (max %d)", ErrUnsupported, hdr.argsz, infoBytesMax)
		}
		n = int(hdr.argsz)
	}
	buf := make([]byte, n)
	binary.NativeEndian.PutUint32(buf, uint32(n))
	if _, err := ioctlPtr(c.f, reqIOMMUGetInfo, unsafe.Pointer(&buf[0])); err != nil {
		return IOMMUInfo{}, fmt.Errorf("vfio: VFIO_IOMMU_GET_INFO(%d bytes): %w", n, err)
	}
	return ParseIOMMUInfo(buf)
}

// MapDMA maps b into the IOMMU at iova for device reads and writes. b and
// iova must be page aligned; the kernel pins the pages until UnmapDMA.
func (c *Container) MapDMA(b []byte, iova uint64) error {
	if c.f == nil {
		return ErrClosed
	}
	page := uint64(os.Getpagesize())
	if len(b) == 0 || uint64(len(b))%page != 0 || iova%page != 0 || iova+uint64(len(b)) < iova {
		return fmt.Errorf("vfio: map DMA of %d bytes at IOVA %#x: size and IOVA must be non-zero multiples of %d", len(b), iova, page)
	}
	m := dmaMap{
		argsz: uint32(unsafe.Sizeof(dmaMap{})),
		flags: DMAMapFlagRead | DMAMapFlagWrite,
		vaddr: uint64(uintptr(unsafe.Pointer(&b[0]))),
		iova:  iova,
		size:  uint64(len(b)),
	}
	if m.vaddr%page != 0 {
		return fmt.Errorf("vfio: map DMA: buffer at %#x is not page aligned", m.vaddr)
	}
	if _, err := ioctlPtr(c.f, reqIOMMUMapDMA, unsafe.Pointer(&m)); err != nil {
		return fmt.Errorf("vfio: VFIO_IOMMU_MAP_DMA %d bytes at IOVA %#x: %w", len(b), iova, err)
	}
	return nil
}

// UnmapDMA removes the IOMMU mapping [iova, iova+size).
func (c *Container) UnmapDMA(iova, size uint64) error {
	if c.f == nil {
		return ErrClosed
	}
	u := dmaUnmap{argsz: uint32(unsafe.Sizeof(dmaUnmap{})), iova: iova, size: size}
	if _, err := ioctlPtr(c.f, reqIOMMUUnmapDMA, unsafe.Pointer(&u)); err != nil {
		return fmt.Errorf("vfio: VFIO_IOMMU_UNMAP_DMA %d bytes at IOVA %#x: %w", size, iova, err)
	}
	if u.size != size {
		return fmt.Errorf("vfio: VFIO_IOMMU_UNMAP_DMA at IOVA %#x unmapped %d bytes, want %d", iova, u.size, size)
	}
	return nil
}

// Close releases the container; attached groups must be closed first.
func (c *Container) Close() error {
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}

// Group is a VFIO group: the unit of IOMMU isolation.
type Group struct {
	f        *os.File
	path     string
	attached bool
}

// OpenGroup opens a group node (/dev/vfio/N). A group can be open in one
// process at a time; a second open fails with EBUSY.
func OpenGroup(path string) (*Group, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("vfio: open group: %w", err)
	}
	return &Group{f: f, path: path}, nil
}

// Status returns the group's flags (GroupFlagsViable, GroupFlagsContainerSet).
func (g *Group) Status() (uint32, error) {
	if g.f == nil {
		return 0, ErrClosed
	}
	s := groupStatus{argsz: uint32(unsafe.Sizeof(groupStatus{}))}
	if _, err := ioctlPtr(g.f, reqGroupGetStatus, unsafe.Pointer(&s)); err != nil {
		return 0, fmt.Errorf("vfio: VFIO_GROUP_GET_STATUS on %s: %w", g.path, err)
	}
	return s.flags, nil
}

// CheckViable returns ErrNotViable unless every device of the group is bound
// to a VFIO driver (or to none).
func (g *Group) CheckViable() error {
	flags, err := g.Status()
	if err != nil {
		return err
	}
	if flags&GroupFlagsViable == 0 {
		return fmt.Errorf("%w: %s: bind every device of the group to vfio-pci or unbind it", ErrNotViable, g.path)
	}
	return nil
}

// SetContainer attaches the group to c.
func (g *Group) SetContainer(c *Container) error {
	if g.f == nil || c.f == nil {
		return ErrClosed
	}
	fd := int32(c.f.Fd())
	_, err := ioctlPtr(g.f, reqGroupSetContainer, unsafe.Pointer(&fd))
	runtime.KeepAlive(c.f)
	if err != nil {
		return fmt.Errorf("vfio: VFIO_GROUP_SET_CONTAINER on %s: %w", g.path, err)
	}
	g.attached = true
	return nil
}

// UnsetContainer detaches the group from its container; it is a no-op for a
// detached group.
func (g *Group) UnsetContainer() error {
	if g.f == nil || !g.attached {
		return nil
	}
	if _, err := ioctl(g.f, reqGroupUnsetContainer, 0); err != nil {
		return fmt.Errorf("vfio: VFIO_GROUP_UNSET_CONTAINER on %s: %w", g.path, err)
	}
	g.attached = false
	return nil
}

// Device opens the group's device named by its PCI address (0000:3b:00.0).
// The group must be attached to a container whose IOMMU is set.
func (g *Group) Device(name string) (*Device, error) {
	if g.f == nil {
		return nil, ErrClosed
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("vfio: device name %q: %w", name, err)
	}
	fd, err := ioctlPtr(g.f, reqGroupGetDeviceFD, unsafe.Pointer(p))
	if err != nil {
		return nil, fmt.Errorf("vfio: VFIO_GROUP_GET_DEVICE_FD(%s) on %s: %w", name, g.path, err)
	}
	unix.CloseOnExec(int(fd))
	return &Device{f: os.NewFile(fd, "vfio:"+name), name: name}, nil
}

// Close releases the group (detaching it from its container first).
func (g *Group) Close() error {
	if g.f == nil {
		return nil
	}
	err := g.UnsetContainer()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	g.f = nil
	return err
}

// Device is an open VFIO device.
type Device struct {
	f    *os.File
	name string
}

// DeviceInfo is the answer of VFIO_DEVICE_GET_INFO.
type DeviceInfo struct {
	// Flags are DeviceFlags*.
	Flags uint32
	// Regions is the number of regions (for PCI: BARs, ROM, config, VGA).
	Regions uint32
	// IRQs is the number of interrupt indexes.
	IRQs uint32
}

// Info queries the device.
func (d *Device) Info() (DeviceInfo, error) {
	if d.f == nil {
		return DeviceInfo{}, ErrClosed
	}
	i := deviceInfo{argsz: uint32(unsafe.Sizeof(deviceInfo{}))}
	if _, err := ioctlPtr(d.f, reqDeviceGetInfo, unsafe.Pointer(&i)); err != nil {
		return DeviceInfo{}, fmt.Errorf("vfio: VFIO_DEVICE_GET_INFO on %s: %w", d.name, err)
	}
	return DeviceInfo{Flags: i.flags, Regions: i.numRegions, IRQs: i.numIRQs}, nil
}

// RegionInfo describes one region of the device file.
type RegionInfo struct {
	// Index is the region index (PCIBAR0RegionIndex …).
	Index uint32
	// Flags are RegionFlag*.
	Flags uint32
	// Size is the region size in bytes (0: not implemented).
	Size uint64
	// Offset is where the region starts in the device file.
	Offset uint64
}

// RegionInfo queries region index.
func (d *Device) RegionInfo(index uint32) (RegionInfo, error) {
	if d.f == nil {
		return RegionInfo{}, ErrClosed
	}
	r := regionInfo{argsz: uint32(unsafe.Sizeof(regionInfo{})), index: index}
	if _, err := ioctlPtr(d.f, reqDeviceGetRegionInfo, unsafe.Pointer(&r)); err != nil {
		return RegionInfo{}, fmt.Errorf("vfio: VFIO_DEVICE_GET_REGION_INFO(%d) on %s: %w", index, d.name, err)
	}
	return RegionInfo{Index: r.index, Flags: r.flags, Size: r.size, Offset: r.offset}, nil
}

// MapRegion maps the whole of region r, shared and read-write.
func (d *Device) MapRegion(r RegionInfo) (*mmio.Mapping, error) {
	if d.f == nil {
		return nil, ErrClosed
	}
	const need = RegionFlagMmap | RegionFlagRead | RegionFlagWrite
	if r.Flags&need != need {
		return nil, fmt.Errorf("%w: region %d of %s cannot be mapped read-write (flags %#x)", ErrUnsupported, r.Index, d.name, r.Flags)
	}
	if r.Size == 0 || r.Size > RegionBytesMax || r.Offset > 1<<62 {
		return nil, fmt.Errorf("%w: region %d of %s: %d bytes at %#x (max %d bytes)", ErrUnsupported, r.Index, d.name, r.Size, r.Offset, RegionBytesMax)
	}
	m, err := mmio.MapFile(d.f, int64(r.Offset), int(r.Size))
	if err != nil {
		return nil, fmt.Errorf("vfio: map region %d of %s: %w", r.Index, d.name, err)
	}
	return m, nil
}

// Reset resets the device (function-level or bus reset, whichever the kernel
// can do); only for devices with DeviceFlagsReset.
func (d *Device) Reset() error {
	if d.f == nil {
		return ErrClosed
	}
	if _, err := ioctl(d.f, reqDeviceReset, 0); err != nil {
		return fmt.Errorf("vfio: VFIO_DEVICE_RESET on %s: %w", d.name, err)
	}
	return nil
}

// IRQInfo describes one interrupt index.
type IRQInfo struct {
	// Index is the IRQ index (PCIINTxIRQIndex, PCIMSIIRQIndex,
	// PCIMSIXIRQIndex …).
	Index uint32
	// Flags are IRQInfo*.
	Flags uint32
	// Count is the number of vectors (0: not available).
	Count uint32
}

// IRQInfo queries interrupt index.
func (d *Device) IRQInfo(index uint32) (IRQInfo, error) {
	if d.f == nil {
		return IRQInfo{}, ErrClosed
	}
	i := irqInfo{argsz: uint32(unsafe.Sizeof(irqInfo{})), index: index}
	if _, err := ioctlPtr(d.f, reqDeviceGetIRQInfo, unsafe.Pointer(&i)); err != nil {
		return IRQInfo{}, fmt.Errorf("vfio: VFIO_DEVICE_GET_IRQ_INFO(%d) on %s: %w", index, d.name, err)
	}
	return IRQInfo{Index: i.index, Flags: i.flags, Count: i.count}, nil
}

// EnableIRQ routes vector 0 of interrupt index to a new eventfd and returns
// the waiter. INTx is level triggered and masked by the kernel on every
// interrupt; the waiter unmasks it after each wake-up.
func (d *Device) EnableIRQ(index uint32) (*IRQ, error) {
	if d.f == nil {
		return nil, ErrClosed
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("vfio: eventfd: %w", err)
	}
	s := irqSetEventFD{
		argsz: uint32(unsafe.Sizeof(irqSetEventFD{})),
		flags: irqSetDataEventFD | irqSetActionTrigger,
		index: index,
		start: 0,
		count: 1,
		fd:    int32(efd),
	}
	if _, err := ioctlPtr(d.f, reqDeviceSetIRQs, unsafe.Pointer(&s)); err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("vfio: VFIO_DEVICE_SET_IRQS(index %d, eventfd) on %s: %w", index, d.name, err)
	}
	q := &IRQ{fd: efd, ownFD: true, readBytes: 8}
	q.disable = func() error { return d.disableIRQ(index) }
	if index == PCIINTxIRQIndex {
		unmask := &irqSet{
			argsz: uint32(unsafe.Sizeof(irqSet{})),
			flags: irqSetDataNone | irqSetActionUnmask,
			index: PCIINTxIRQIndex,
			start: 0,
			count: 1,
		}
		q.rearm = func() error {
			if d.f == nil {
				return ErrClosed
			}
			if _, err := ioctlPtr(d.f, reqDeviceSetIRQs, unsafe.Pointer(unmask)); err != nil {
				return fmt.Errorf("vfio: unmask INTx on %s: %w", d.name, err)
			}
			return nil
		}
	}
	return q, nil
}

// disableIRQ tears down every trigger of interrupt index.
func (d *Device) disableIRQ(index uint32) error {
	if d.f == nil {
		return nil
	}
	s := irqSet{
		argsz: uint32(unsafe.Sizeof(irqSet{})),
		flags: irqSetDataNone | irqSetActionTrigger,
		index: index,
		start: 0,
		count: 0,
	}
	if _, err := ioctlPtr(d.f, reqDeviceSetIRQs, unsafe.Pointer(&s)); err != nil {
		return fmt.Errorf("vfio: disable IRQ index %d on %s: %w", index, d.name, err)
	}
	return nil
}

// ConfigSpace returns the device's PCI configuration space (the config
// region of the device file). It shares the device's file descriptor.
func (d *Device) ConfigSpace() (*ConfigSpace, error) {
	r, err := d.RegionInfo(PCIConfigRegionIndex)
	if err != nil {
		return nil, err
	}
	if r.Flags&(RegionFlagRead|RegionFlagWrite) != RegionFlagRead|RegionFlagWrite || r.Size < 64 || r.Offset > 1<<62 {
		return nil, fmt.Errorf("%w: config region of %s: flags %#x, %d bytes", ErrUnsupported, d.name, r.Flags, r.Size)
	}
	return &ConfigSpace{f: d.f, base: int64(r.Offset), name: d.name}, nil
}

// Close releases the device.
func (d *Device) Close() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
