package fpga

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ballast-risk/ballast/accel/internal/vfio"
)

// memlockBytes reads RLIMIT_MEMLOCK; tests replace it.
var memlockBytes = vfio.MemlockBytes

// readSmall reads a sysfs or procfs file of at most limit bytes.
func readSmall(path string, limit int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > limit {
		return "", fmt.Errorf("%w: %s is longer than %d bytes", errParse, path, limit)
	}
	return string(b), nil
}

func readUint(path string, bits int) (uint64, error) {
	s, err := readSmall(path, sysfsValueBytesMax)
	if err != nil {
		return 0, err
	}
	v, err := parseSysfsUint(s, bits)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// linkBase returns the last element of a symlink's target ("" when there is
// no link).
func linkBase(path string) string {
	t, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// paths derived from a defaulted Config.
func devicesDir(c Config) string          { return filepath.Join(c.Sysfs, "bus", "pci", "devices") }
func deviceDir(c Config, a string) string { return filepath.Join(devicesDir(c), a) }

// Find looks for the card and describes it and the host. It returns an
// *UnavailableError when there is no card to describe (no sysfs, no
// matching function, bad configuration); every other obstacle is listed in
// Info.Problems.
func Find(cfg Config) (Info, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Info{}, unavailable(ReasonConfig, "bad configuration: %v", err)
	}
	dir := devicesDir(cfg)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Info{}, unavailable(ReasonNoSysfs, "cannot list PCI devices in %s (%v): the fpga backend needs Linux with sysfs mounted", dir, err)
	}
	if len(entries) > devicesMax {
		entries = entries[:devicesMax]
	}
	info := Info{IOMMUGroup: -1}
	if cfg.Address != "" {
		if _, err := os.Stat(deviceDir(cfg, cfg.Address)); err != nil {
			return Info{}, unavailable(ReasonNotFound, "no PCI device at %s under %s: check the address with lspci -D", cfg.Address, dir)
		}
		info.Address = cfg.Address
		info.Matches = 1
	} else {
		var others []string
		for _, e := range entries {
			a := e.Name()
			if _, err := parsePCIAddress(a); err != nil {
				continue
			}
			v, err1 := readUint(filepath.Join(dir, a, "vendor"), 16)
			d, err2 := readUint(filepath.Join(dir, a, "device"), 16)
			if err1 != nil || err2 != nil || uint16(v) != cfg.Vendor {
				continue
			}
			if uint16(d) != cfg.Device {
				others = append(others, fmt.Sprintf("%s (%04x:%04x)", a, v, d))
				continue
			}
			if info.Matches == 0 {
				info.Address = a
			}
			info.Matches++
		}
		if info.Matches == 0 {
			msg := fmt.Sprintf("no PCI device %04x:%04x under %s (%d functions scanned): is the card installed and its Ballast bitstream loaded? `lspci -nn -d %04x:` lists the vendor's functions; set the device ID or address in the configuration if the card uses another",
				cfg.Vendor, cfg.Device, dir, len(entries), cfg.Vendor)
			if len(others) > 0 {
				msg += fmt.Sprintf("; functions of vendor %04x present: %s", cfg.Vendor, strings.Join(others, ", "))
			}
			return Info{}, &UnavailableError{Problems: []Problem{{ReasonNotFound, msg}}}
		}
	}
	describe(cfg, &info)
	diagnose(cfg, &info)
	return info, nil
}

func unavailable(r Reason, format string, args ...any) error {
	return &UnavailableError{Problems: []Problem{{r, fmt.Sprintf(format, args...)}}}
}

// describe fills in what sysfs and procfs say about the card and the host.
func describe(cfg Config, info *Info) {
	dd := deviceDir(cfg, info.Address)
	if v, err := readUint(filepath.Join(dd, "vendor"), 16); err == nil {
		info.Vendor = uint16(v)
	}
	if v, err := readUint(filepath.Join(dd, "device"), 16); err == nil {
		info.Device = uint16(v)
	}
	if v, err := readUint(filepath.Join(dd, "class"), 32); err == nil {
		info.Class = uint32(v)
	}
	info.Driver = linkBase(filepath.Join(dd, "driver"))
	switch info.Driver {
	case "vfio-pci":
		info.Access = AccessVFIO
	case "uio_pci_generic":
		info.Access = AccessUIO
	}
	if s, err := readSmall(filepath.Join(dd, "resource"), sysfsValueBytesMax); err == nil {
		if rs, err := parseResource(s); err == nil {
			info.BAR0Phys = rs[0].start
			info.BAR0Bytes = rs[0].size()
			info.BAR0Mem = rs[0].flags&ioresourceMem != 0
		}
	}
	if g := linkBase(filepath.Join(dd, "iommu_group")); g != "" {
		if n, err := strconv.Atoi(g); err == nil && n >= 0 {
			info.IOMMUGroup = n
			info.GroupNode = filepath.Join(cfg.Dev, "vfio", g)
		}
	}
	if es, err := os.ReadDir(filepath.Join(dd, "uio")); err == nil {
		for _, e := range es {
			if strings.HasPrefix(e.Name(), "uio") {
				info.UIO = e.Name()
				break
			}
		}
	}
	if info.UIO != "" {
		info.UIOMaps = readUIOMaps(filepath.Join(dd, "uio", info.UIO, "maps"))
	}
	info.Hugepages = readHugepages(cfg)
	if s, err := readSmall(filepath.Join(cfg.Proc, "self", "status"), procFileBytesMax); err == nil {
		if c, err := parseCapEff(s); err == nil {
			info.CapEff = c
		}
	}
}

// readUIOMaps reads maps/map0 … map4; unreadable maps are left out.
func readUIOMaps(dir string) []UIOMap {
	var maps []UIOMap
	for i := range vfio.UIOMapsMax {
		d := filepath.Join(dir, "map"+strconv.Itoa(i))
		a, err1 := readSmall(filepath.Join(d, "addr"), sysfsValueBytesMax)
		s, err2 := readSmall(filepath.Join(d, "size"), sysfsValueBytesMax)
		o, err3 := readSmall(filepath.Join(d, "offset"), sysfsValueBytesMax)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if m, err := parseUIOMap(i, a, s, o); err == nil {
			maps = append(maps, m)
		}
	}
	return maps
}

// readHugepages reads the default huge page pool (2 MiB when meminfo does
// not say).
func readHugepages(cfg Config) Hugepages {
	h := Hugepages{PageBytes: 2 << 20}
	if s, err := readSmall(filepath.Join(cfg.Proc, "meminfo"), procFileBytesMax); err == nil {
		if b, err := parseHugepageBytes(s); err == nil {
			h.PageBytes = b
		}
	}
	h.Dir = filepath.Join(cfg.Sysfs, "kernel", "mm", "hugepages", fmt.Sprintf("hugepages-%dkB", h.PageBytes>>10))
	h.Total = -1
	if v, err := readUint(filepath.Join(h.Dir, "nr_hugepages"), 62); err == nil {
		h.Total = int64(v)
	}
	if v, err := readUint(filepath.Join(h.Dir, "free_hugepages"), 62); err == nil {
		h.Free = int64(v)
	}
	if v, err := readUint(filepath.Join(h.Dir, "resv_hugepages"), 62); err == nil {
		h.Reserved = int64(v)
	}
	return h
}

// allocBytes is the DMA allocation: MemBytes rounded up to huge pages.
func allocBytes(cfg Config, h Hugepages) int64 {
	return (int64(cfg.MemBytes) + h.PageBytes - 1) / h.PageBytes * h.PageBytes
}

// rebind is the shell recipe that binds the function to vfio-pci.
func rebind(cfg Config, info *Info) string {
	dd := deviceDir(cfg, info.Address)
	s := "modprobe vfio-pci && echo vfio-pci > " + filepath.Join(dd, "driver_override") + " && "
	if info.Driver != "" {
		s += "echo " + info.Address + " > " + filepath.Join(dd, "driver", "unbind") + " && "
	}
	return s + "echo " + info.Address + " > " + filepath.Join(cfg.Sysfs, "bus", "pci", "drivers_probe")
}

// groupDriverAllowed reports whether a device bound to driver d leaves its
// IOMMU group viable for VFIO: VFIO drivers, pci-stub, PCIe port drivers and
// no driver at all.
func groupDriverAllowed(d string) bool {
	return d == "" || d == "pci-stub" || d == "pcieport" || strings.HasPrefix(d, "vfio") || strings.HasSuffix(d, "-vfio-pci") || strings.HasSuffix(d, "_vfio_pci")
}

// diagnose lists every obstacle to using the card.
func diagnose(cfg Config, info *Info) {
	add := func(r Reason, format string, args ...any) {
		info.Problems = append(info.Problems, Problem{r, fmt.Sprintf(format, args...)})
	}
	a := info.Address
	switch info.Driver {
	case "vfio-pci", "uio_pci_generic":
	case "":
		add(ReasonUnbound, "PCI device %s (%04x:%04x) is not bound to any driver; bind it to vfio-pci: %s", a, info.Vendor, info.Device, rebind(cfg, info))
	case "xdma":
		add(ReasonXDMA, "PCI device %s is bound to xdma, the Xilinx XDMA character-device driver; its /dev/xdma* channels drive the XDMA IP's own DMA engine and do not expose Ballast's descriptor and completion rings, so this backend cannot use it. Rebind the card to vfio-pci: %s", a, rebind(cfg, info))
	default:
		add(ReasonWrongDriver, "PCI device %s is bound to %s; the fpga backend needs vfio-pci (or uio_pci_generic): %s", a, info.Driver, rebind(cfg, info))
	}
	switch {
	case info.BAR0Bytes == 0:
		add(ReasonBAR, "PCI device %s has no BAR0: is the Ballast bitstream loaded? (a rescan after programming: echo 1 > %s)", a, filepath.Join(cfg.Sysfs, "bus", "pci", "rescan"))
	case !info.BAR0Mem:
		add(ReasonBAR, "BAR0 of PCI device %s is an I/O-port BAR, the Ballast register file is a memory BAR: wrong bitstream?", a)
	case info.BAR0Bytes < BARBytesMin:
		add(ReasonBAR, "BAR0 of PCI device %s is %d bytes, the Ballast register file needs %d: wrong bitstream?", a, info.BAR0Bytes, BARBytesMin)
	}
	switch info.Access {
	case AccessVFIO:
		diagnoseVFIO(cfg, info, add)
	case AccessUIO:
		diagnoseUIO(cfg, info, add)
	}
	h := info.Hugepages
	need := allocBytes(cfg, h) / h.PageBytes
	switch {
	case h.Total < 0:
		add(ReasonNoHugepages, "no %d kB huge page pool at %s: the kernel lacks hugetlbfs support (CONFIG_HUGETLBFS)", h.PageBytes>>10, h.Dir)
	case h.Usable() < need:
		add(ReasonNoHugepages, "the %d MiB DMA buffer needs %d free %d kB huge pages, %d of %d are free: echo %d > %s (as root; hugepages=%d on the kernel command line makes it permanent)",
			cfg.MemBytes>>20, need, h.PageBytes>>10, h.Usable(), h.Total, h.Total+need-h.Usable(), filepath.Join(h.Dir, "nr_hugepages"), h.Total+need-h.Usable())
	}
}

type addFunc func(r Reason, format string, args ...any)

func nodeProblem(add addFunc, path string, err error, missing string) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		add(ReasonNoNode, "%s does not exist: %s", path, missing)
	case errors.Is(err, os.ErrPermission):
		add(ReasonPermission, "permission denied on %s: run as root, or give the service user access (chown USER %s; a udev rule makes it permanent)", path, path)
	default:
		add(ReasonNoNode, "%s is not usable: %v", path, err)
	}
}

func diagnoseVFIO(cfg Config, info *Info, add addFunc) {
	if info.IOMMUGroup < 0 {
		add(ReasonNoIOMMU, "PCI device %s has no IOMMU group, so the IOMMU is off: add intel_iommu=on (Intel) or amd_iommu=on (AMD) and iommu=pt to the kernel command line and reboot", info.Address)
		return
	}
	peersDir := filepath.Join(cfg.Sysfs, "kernel", "iommu_groups", strconv.Itoa(info.IOMMUGroup), "devices")
	if es, err := os.ReadDir(peersDir); err == nil {
		var bad []string
		for _, e := range es {
			p := e.Name()
			if p == info.Address {
				continue
			}
			if d := linkBase(filepath.Join(deviceDir(cfg, p), "driver")); !groupDriverAllowed(d) {
				bad = append(bad, p+" is bound to "+d)
			}
		}
		slices.Sort(bad)
		if len(bad) > 0 {
			add(ReasonGroupNotViable, "IOMMU group %d is not viable: %s; bind every device of the group to vfio-pci or unbind it (or move the card to a slot with its own group)", info.IOMMUGroup, strings.Join(bad, ", "))
		}
	}
	container := filepath.Join(cfg.Dev, "vfio", "vfio")
	if err := vfio.Access(container); err != nil {
		nodeProblem(add, container, err, "load the VFIO modules: modprobe vfio-pci vfio_iommu_type1")
		return
	}
	if err := vfio.Access(info.GroupNode); err != nil {
		nodeProblem(add, info.GroupNode, err, "the group node should appear when the card is bound to vfio-pci; check devtmpfs and udev")
	}
	if info.CapEff&(1<<capIPCLock) == 0 {
		need := allocBytes(cfg, info.Hugepages)
		if lim, err := memlockBytes(); err == nil && lim != ^uint64(0) && lim < uint64(need) {
			add(ReasonMemlock, "VFIO pins the %d MiB DMA buffer but RLIMIT_MEMLOCK is %d KiB: ulimit -l %d (LimitMEMLOCK=infinity in a systemd unit), or grant CAP_IPC_LOCK", need>>20, lim>>10, need>>10)
		}
	}
}

func diagnoseUIO(cfg Config, info *Info, add addFunc) {
	if info.UIO == "" {
		add(ReasonNoNode, "PCI device %s is bound to uio_pci_generic but registered no UIO device (the driver refuses functions without an INTx line; see dmesg), or bind it to vfio-pci: %s", info.Address, rebind(cfg, info))
		return
	}
	node := filepath.Join(cfg.Dev, info.UIO)
	if err := vfio.Access(node); err != nil {
		nodeProblem(add, node, err, "the UIO node should appear when uio_pci_generic binds; check devtmpfs and udev")
	}
	if info.CapEff&(1<<capSysAdmin) == 0 {
		add(ReasonCapability, "the UIO path needs CAP_SYS_ADMIN to read the DMA buffer's physical address from /proc/self/pagemap and to map PCI resources: run as root, or bind the card to vfio-pci (preferred: the IOMMU confines the card's DMA): %s", rebind(cfg, info))
	}
	if h := info.Hugepages; int64(cfg.MemBytes) > h.PageBytes {
		add(ReasonContiguity, "UIO has no IOMMU, so the DMA buffer must be physically contiguous, which only holds inside one huge page: %d MiB exceeds the %d kB huge page; lower the buffer to %d bytes, boot with default_hugepagesz=1G hugepagesz=1G hugepages=N, or bind the card to vfio-pci: %s",
			cfg.MemBytes>>20, h.PageBytes>>10, h.PageBytes, rebind(cfg, info))
	}
}
