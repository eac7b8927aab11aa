package fpga

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// fakeHost is a sysfs, /dev and /proc tree in a temporary directory.
type fakeHost struct {
	t    *testing.T
	root string
	cfg  Config
}

const capAll = 0x000001ffffffffff

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	root := t.TempDir()
	h := &fakeHost{t: t, root: root, cfg: Config{
		Sysfs: filepath.Join(root, "sys"),
		Dev:   filepath.Join(root, "dev"),
		Proc:  filepath.Join(root, "proc"),
	}}
	h.mkdir("sys/bus/pci/devices")
	h.mkdir("sys/bus/pci/drivers")
	h.mkdir("sys/kernel/iommu_groups")
	h.mkdir("dev")
	h.write("proc/meminfo", "MemTotal:       16318480 kB\nHugePages_Total:      64\nHugepagesize:       2048 kB\nHugetlb:          131072 kB\n")
	h.setCaps(capAll)
	h.setHugepages(2048, 64, 64, 0)
	// Unrelated functions, as on any machine.
	h.addDevice("0000:00:00.0", 0x8086, 0x0d57, dev{driver: "", noIOMMU: true})
	h.addDevice("0000:00:03.0", 0x1af4, 0x1041, dev{driver: "virtio-pci", group: 1})
	return h
}

func (h *fakeHost) path(rel string) string { return filepath.Join(h.root, rel) }

func (h *fakeHost) mkdir(rel string) {
	h.t.Helper()
	if err := os.MkdirAll(h.path(rel), 0o755); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) write(rel, content string) {
	h.t.Helper()
	h.mkdir(filepath.Dir(rel))
	if err := os.WriteFile(h.path(rel), []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) symlink(target, rel string) {
	h.t.Helper()
	h.mkdir(filepath.Dir(rel))
	os.Remove(h.path(rel))
	if err := os.Symlink(target, h.path(rel)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) setCaps(c uint64) {
	h.write("proc/self/status", fmt.Sprintf("Name:\tfpga.test\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t%016x\nCapEff:\t%016x\n", c, c))
}

func (h *fakeHost) setHugepages(kb, total, free, resv int) {
	d := fmt.Sprintf("sys/kernel/mm/hugepages/hugepages-%dkB/", kb)
	h.write(d+"nr_hugepages", strconv.Itoa(total)+"\n")
	h.write(d+"free_hugepages", strconv.Itoa(free)+"\n")
	h.write(d+"resv_hugepages", strconv.Itoa(resv)+"\n")
}

// dev describes one fake PCI function.
type dev struct {
	driver  string
	group   int
	noIOMMU bool
	bar0    string // resource line 0; default a 64 KiB memory BAR
	uio     string // uio device name under uio_pci_generic
	uioMap  [3]string
}

const bar0Line = "0x00000000fb000000 0x00000000fb00ffff 0x0000000000040200"

func (h *fakeHost) addDevice(addr string, vendor, device uint16, d dev) {
	h.t.Helper()
	p := "sys/bus/pci/devices/" + addr + "/"
	h.write(p+"vendor", fmt.Sprintf("0x%04x\n", vendor))
	h.write(p+"device", fmt.Sprintf("0x%04x\n", device))
	h.write(p+"class", "0x120000\n")
	h.write(p+"config", string(make([]byte, 256)))
	bar := d.bar0
	if bar == "" {
		bar = bar0Line
	}
	h.write(p+"resource", bar+"\n0x0000000000000000 0x0000000000000000 0x0000000000000000\n0x00000000fb010000 0x00000000fb01ffff 0x0000000000040200\n")
	if d.driver != "" {
		h.mkdir("sys/bus/pci/drivers/" + d.driver)
		h.symlink("../../../bus/pci/drivers/"+d.driver, p+"driver")
	}
	if !d.noIOMMU {
		g := strconv.Itoa(d.group)
		h.mkdir("sys/kernel/iommu_groups/" + g + "/devices")
		h.symlink("../../../kernel/iommu_groups/"+g, p+"iommu_group")
		h.symlink("../../../../bus/pci/devices/"+addr, "sys/kernel/iommu_groups/"+g+"/devices/"+addr)
	}
	if d.uio != "" {
		u := p + "uio/" + d.uio + "/"
		h.mkdir(u)
		if d.uioMap[0] != "" {
			h.write(u+"maps/map0/addr", d.uioMap[0])
			h.write(u+"maps/map0/size", d.uioMap[1])
			h.write(u+"maps/map0/offset", d.uioMap[2])
		}
	}
}

// node creates a device node stand-in (a regular file) under dev/.
func (h *fakeHost) node(rel string, size int) string {
	h.t.Helper()
	h.write("dev/"+rel, string(make([]byte, size)))
	return h.path("dev/" + rel)
}

// vfioCard adds a card bound to vfio-pci in group 12 with its nodes.
func (h *fakeHost) vfioCard() {
	h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", group: 12})
	h.node("vfio/vfio", 0)
	h.node("vfio/12", 0)
}

// uioCard adds a card bound to uio_pci_generic with map0 = BAR0.
func (h *fakeHost) uioCard() {
	h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "uio_pci_generic", group: 12, uio: "uio0",
		uioMap: [3]string{"0x00000000fb000000\n", "0x0000000000010000\n", "0x0\n"}})
	h.node("uio0", 64<<10)
}
