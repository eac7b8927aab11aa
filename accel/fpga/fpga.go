// Package fpga is the device-access half of the FPGA backend: it finds the
// Ballast card on the PCI bus, tells the user exactly why it cannot be used
// when it cannot, and opens it — BAR0 mapped for 32-bit register access, a
// huge-page-backed DMA buffer the card can address, and an optional
// interrupt — for the mmio driver (accel/driver) that runs the descriptor
// queues of docs/accel.md.
//
// Two kernel paths reach the card:
//
//   - vfio-pci (preferred): the IOMMU confines the card's DMA to the one
//     buffer mapped for it, at a fixed I/O virtual address (IOVABase, the
//     same device address the vsim backend uses), and interrupts arrive as
//     MSI-X, MSI or INTx through an eventfd.
//   - uio_pci_generic (second best): no IOMMU protection. The card is given
//     raw physical addresses (read from /proc/self/pagemap, which needs
//     CAP_SYS_ADMIN), so a bad descriptor can make it write anywhere in host
//     memory, and the buffer must be physically contiguous, which is only
//     guaranteed inside one huge page. Interrupts are INTx only.
//
// The Xilinx XDMA character-device driver (xdma) is recognised and refused:
// it exposes the XDMA IP's own DMA channels, not Ballast's descriptor and
// completion rings.
//
// All system calls, ioctls and unsafe code live in accel/internal/vfio and
// accel/internal/mmio; this package reads sysfs and procfs and composes.
package fpga

import (
	"fmt"
	"strings"

	"github.com/ballast-risk/ballast/accel"
)

// Defaults and bounds.
const (
	// DefaultVendor is the card's PCI vendor ID (Xilinx).
	DefaultVendor = 0x10ee
	// DefaultDevice is the Ballast bitstream's PCI device ID.
	DefaultDevice = 0xba11
	// DefaultMemBytes is the DMA buffer size when Config.MemBytes is 0.
	DefaultMemBytes = 64 << 20
	// MemBytesMax bounds the DMA buffer (16 GiB).
	MemBytesMax = 16 << 30
	// DefaultIOVABase is the device address of the DMA buffer's first byte
	// under VFIO, the same as vsim's mem_iova (docs/accel.md §6); address 0
	// is never valid.
	DefaultIOVABase = 0x0000_0010_0000_0000
	// BARBytesMin is the size of the Ballast register file in BAR0.
	BARBytesMin = 64 << 10
	// devicesMax bounds the PCI functions scanned.
	devicesMax = 4096
)

// Config selects and sizes the card. The zero value finds the default
// vendor:device ID under /sys with a 64 MiB DMA buffer.
type Config struct {
	// Vendor and Device are the PCI IDs to look for (0: the defaults).
	Vendor, Device uint16
	// Address selects one PCI function ("0000:3b:00.0" or "3b:00.0")
	// instead of scanning for the IDs; it is taken whatever its IDs are.
	Address string
	// MemBytes is the DMA buffer size (0: DefaultMemBytes); the allocation
	// is rounded up to whole huge pages.
	MemBytes int
	// IOVABase is the buffer's device address under VFIO (0:
	// DefaultIOVABase); page aligned. Under UIO the device address is the
	// buffer's physical address instead.
	IOVABase uint64
	// NoReset skips the VFIO device reset on open.
	NoReset bool
	// Sysfs, Dev and Proc are the sysfs, device-node and procfs roots
	// ("/sys", "/dev", "/proc" when empty); tests point them at fakes.
	Sysfs, Dev, Proc string
}

func (c Config) withDefaults() Config {
	if c.Vendor == 0 {
		c.Vendor = DefaultVendor
	}
	if c.Device == 0 {
		c.Device = DefaultDevice
	}
	if c.MemBytes == 0 {
		c.MemBytes = DefaultMemBytes
	}
	if c.IOVABase == 0 {
		c.IOVABase = DefaultIOVABase
	}
	if c.Sysfs == "" {
		c.Sysfs = "/sys"
	}
	if c.Dev == "" {
		c.Dev = "/dev"
	}
	if c.Proc == "" {
		c.Proc = "/proc"
	}
	return c
}

// validate checks a defaulted configuration and canonicalises Address.
func (c *Config) validate() error {
	if c.MemBytes < 0 || c.MemBytes > MemBytesMax {
		return fmt.Errorf("MemBytes %d outside 1..%d", c.MemBytes, MemBytesMax)
	}
	if c.IOVABase%(4<<10) != 0 || c.IOVABase > 1<<63 {
		return fmt.Errorf("IOVABase %#x is not 4 KiB aligned below 2^63", c.IOVABase)
	}
	if c.Address != "" {
		a, err := parsePCIAddress(c.Address)
		if err != nil {
			return err
		}
		c.Address = a
	}
	return nil
}

// Access is the kernel path a card is reachable through.
type Access int

// Access paths.
const (
	// AccessNone: the card is bound to no usable driver.
	AccessNone Access = iota
	// AccessVFIO: bound to vfio-pci.
	AccessVFIO
	// AccessUIO: bound to uio_pci_generic.
	AccessUIO
)

// String names the path: "vfio", "uio" or "none".
func (a Access) String() string {
	switch a {
	case AccessVFIO:
		return "vfio"
	case AccessUIO:
		return "uio"
	}
	return "none"
}

// Reason classifies why the card cannot be used.
type Reason int

// Reasons, in the order Available checks them.
const (
	// ReasonConfig: the configuration is invalid.
	ReasonConfig Reason = iota + 1
	// ReasonNoSysfs: there is no PCI bus in sysfs.
	ReasonNoSysfs
	// ReasonNotFound: no PCI function with the ID or address.
	ReasonNotFound
	// ReasonUnbound: the card is bound to no driver.
	ReasonUnbound
	// ReasonXDMA: the card is bound to the Xilinx XDMA driver.
	ReasonXDMA
	// ReasonWrongDriver: the card is bound to another driver.
	ReasonWrongDriver
	// ReasonBAR: BAR0 is missing, not memory, or too small.
	ReasonBAR
	// ReasonNoIOMMU: the card has no IOMMU group (IOMMU off).
	ReasonNoIOMMU
	// ReasonGroupNotViable: another device of the IOMMU group is bound to a
	// host driver.
	ReasonGroupNotViable
	// ReasonNoNode: a device node (/dev/vfio/…, /dev/uioN) is missing.
	ReasonNoNode
	// ReasonPermission: a device node is not readable and writable.
	ReasonPermission
	// ReasonMemlock: RLIMIT_MEMLOCK is below the DMA buffer VFIO must pin.
	ReasonMemlock
	// ReasonCapability: the UIO path lacks CAP_SYS_ADMIN.
	ReasonCapability
	// ReasonContiguity: the UIO path cannot get a physically contiguous
	// buffer of the configured size.
	ReasonContiguity
	// ReasonNoHugepages: too few free huge pages for the DMA buffer.
	ReasonNoHugepages
)

// Problem is one reason the card cannot be used, with what to do about it.
type Problem struct {
	// Reason classifies it.
	Reason Reason
	// Text says what is wrong and how to fix it.
	Text string
}

// UnavailableError lists every problem found; it wraps
// accel.ErrUnavailable.
type UnavailableError struct {
	// Problems are the obstacles, in the order they were checked.
	Problems []Problem
}

// Error joins the problems' texts, each a reason and its fix.
func (e *UnavailableError) Error() string {
	var b strings.Builder
	b.WriteString("fpga: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, accel.ErrUnavailable) hold.
func (e *UnavailableError) Unwrap() error { return accel.ErrUnavailable }

// Has reports whether the error lists a problem of reason r.
func (e *UnavailableError) Has(r Reason) bool {
	for _, p := range e.Problems {
		if p.Reason == r {
			return true
		}
	}
	return false
}

// Hugepages describes the pool the DMA buffer is allocated from: the
// default huge page size, which MAP_HUGETLB uses.
type Hugepages struct {
	// PageBytes is the huge page size.
	PageBytes int64
	// Total, Free and Reserved are nr_hugepages, free_hugepages and
	// resv_hugepages (free pages promised to existing mappings).
	Total, Free, Reserved int64
	// Dir is the pool's sysfs directory.
	Dir string
}

// Usable is the number of huge pages a new mapping can get.
func (h Hugepages) Usable() int64 { return max(h.Free-h.Reserved, 0) }

// Info is what Find learned about the card and the host.
type Info struct {
	// Address is the PCI function ("0000:3b:00.0").
	Address string
	// Vendor, Device and Class are its PCI IDs and class code.
	Vendor, Device uint16
	Class          uint32
	// Matches is how many functions carry the ID (the first by address
	// is used; set Config.Address to pick another).
	Matches int
	// Driver is the bound kernel driver ("" when none).
	Driver string
	// Access is the path the driver gives.
	Access Access
	// BAR0Phys and BAR0Bytes are BAR0's bus address and size; BAR0Mem
	// tells whether it is a memory BAR.
	BAR0Phys, BAR0Bytes uint64
	BAR0Mem             bool
	// IOMMUGroup is the card's IOMMU group, -1 without one.
	IOMMUGroup int
	// GroupNode is the group's VFIO node (/dev/vfio/N).
	GroupNode string
	// UIO is the UIO device name ("uio0") under uio_pci_generic.
	UIO string
	// UIOMaps are its memory maps.
	UIOMaps []UIOMap
	// Hugepages is the huge page pool.
	Hugepages Hugepages
	// CapEff is the process's effective capability set.
	CapEff uint64
	// Problems are the reasons the card cannot be used; empty when it can.
	Problems []Problem
}

// Capability bits (linux/capability.h).
const (
	capIPCLock  = 14
	capSysAdmin = 21
)

// Available returns nil if the card is present and usable, else an
// *UnavailableError (wrapping accel.ErrUnavailable) listing every reason
// and what to do about each.
func Available(cfg Config) error {
	info, err := Find(cfg)
	if err != nil {
		return err
	}
	if len(info.Problems) > 0 {
		return &UnavailableError{Problems: info.Problems}
	}
	return nil
}
