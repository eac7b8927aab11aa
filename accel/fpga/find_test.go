package fpga

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ballast-risk/ballast/accel"
)

// unavailableErr asserts err is an *UnavailableError wrapping
// accel.ErrUnavailable with exactly the reasons want.
func unavailableErr(t *testing.T, err error, want ...Reason) *UnavailableError {
	t.Helper()
	if !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("error %v does not wrap accel.ErrUnavailable", err)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("error %T is not *UnavailableError", err)
	}
	if len(ue.Problems) != len(want) {
		t.Fatalf("problems %+v, want reasons %v", ue.Problems, want)
	}
	for _, r := range want {
		if !ue.Has(r) {
			t.Fatalf("problems %+v lack reason %d", ue.Problems, r)
		}
	}
	return ue
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("message %q lacks %q", s, sub)
		}
	}
}

func TestFindVFIOReady(t *testing.T) {
	h := newFakeHost(t)
	h.vfioCard()
	info, err := Find(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Problems) != 0 {
		t.Fatalf("problems: %+v", info.Problems)
	}
	if info.Address != "0000:3b:00.0" || info.Vendor != 0x10ee || info.Device != 0xba11 || info.Class != 0x120000 ||
		info.Driver != "vfio-pci" || info.Access != AccessVFIO || info.IOMMUGroup != 12 ||
		info.GroupNode != filepath.Join(h.cfg.Dev, "vfio", "12") || info.Matches != 1 ||
		info.BAR0Phys != 0xfb000000 || info.BAR0Bytes != 64<<10 || !info.BAR0Mem {
		t.Fatalf("info %+v", info)
	}
	if hp := info.Hugepages; hp.PageBytes != 2<<20 || hp.Total != 64 || hp.Free != 64 || hp.Usable() != 64 {
		t.Fatalf("hugepages %+v", hp)
	}
	if err := Available(h.cfg); err != nil {
		t.Fatalf("available: %v", err)
	}
	if info.Access.String() != "vfio" || AccessUIO.String() != "uio" || AccessNone.String() != "none" {
		t.Fatal("Access names")
	}
}

func TestFindPicksFirstOfSeveralAndByAddress(t *testing.T) {
	h := newFakeHost(t)
	h.vfioCard()
	h.addDevice("0000:af:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", group: 40})
	info, err := Find(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if info.Address != "0000:3b:00.0" || info.Matches != 2 {
		t.Fatalf("picked %s of %d", info.Address, info.Matches)
	}
	c := h.cfg
	c.Address = "AF:00.0"
	info, err = Find(c)
	if err != nil || info.Address != "0000:af:00.0" || info.IOMMUGroup != 40 {
		t.Fatalf("by address: %+v, %v", info, err)
	}
	// An address is taken whatever its IDs.
	c.Address = "0000:00:03.0"
	if info, err = Find(c); err != nil || info.Vendor != 0x1af4 || info.Driver != "virtio-pci" {
		t.Fatalf("by address, other IDs: %+v, %v", info, err)
	}
	c.Address = "0000:3c:00.0"
	_, err = Find(c)
	ue := unavailableErr(t, err, ReasonNotFound)
	mustContain(t, ue.Error(), "no PCI device at 0000:3c:00.0", "lspci")
}

func TestFindNotFound(t *testing.T) {
	h := newFakeHost(t)
	h.addDevice("0000:3b:00.0", DefaultVendor, 0x9038, dev{driver: "xdma", group: 12})
	_, err := Find(h.cfg)
	ue := unavailableErr(t, err, ReasonNotFound)
	mustContain(t, ue.Error(), "no PCI device 10ee:ba11 under "+filepath.Join(h.cfg.Sysfs, "bus/pci/devices"),
		"3 functions scanned", "lspci -nn -d 10ee:", "0000:3b:00.0 (10ee:9038)")
	if err := Available(h.cfg); !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("available: %v", err)
	}
	// Another configured ID finds it.
	c := h.cfg
	c.Device = 0x9038
	if info, err := Find(c); err != nil || info.Address != "0000:3b:00.0" {
		t.Fatalf("configured ID: %+v, %v", info, err)
	}
}

func TestFindNoSysfsAndBadConfig(t *testing.T) {
	c := Config{Sysfs: t.TempDir(), Dev: t.TempDir(), Proc: t.TempDir()}
	ue := unavailableErr(t, Available(c), ReasonNoSysfs)
	mustContain(t, ue.Error(), "cannot list PCI devices", "sysfs")
	h := newFakeHost(t)
	for _, bad := range []Config{
		{Address: "3b:00"}, {Address: "0000:3b:20.0"}, {MemBytes: MemBytesMax + 1}, {MemBytes: -1}, {IOVABase: 0x1001},
	} {
		bad.Sysfs, bad.Dev, bad.Proc = h.cfg.Sysfs, h.cfg.Dev, h.cfg.Proc
		unavailableErr(t, Available(bad), ReasonConfig)
	}
}

func TestDriverReasons(t *testing.T) {
	cases := []struct {
		driver string
		reason Reason
		says   []string
	}{
		{"", ReasonUnbound, []string{"not bound to any driver", "modprobe vfio-pci", "echo vfio-pci > ", "driver_override", "drivers_probe"}},
		{"xdma", ReasonXDMA, []string{"bound to xdma", "XDMA", "descriptor and completion rings", "echo vfio-pci > ", "driver/unbind"}},
		{"ixgbe", ReasonWrongDriver, []string{"bound to ixgbe", "needs vfio-pci (or uio_pci_generic)", "driver/unbind", "drivers_probe"}},
	}
	for _, c := range cases {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: c.driver, group: 12})
		ue := unavailableErr(t, Available(h.cfg), c.reason)
		mustContain(t, ue.Error(), c.says...)
		mustContain(t, ue.Error(), "0000:3b:00.0")
		if c.driver == "" && strings.Contains(ue.Error(), "unbind") {
			t.Errorf("unbound device told to unbind: %s", ue)
		}
	}
}

func TestBARReasons(t *testing.T) {
	cases := map[string]string{
		"0x0000000000000000 0x0000000000000000 0x0000000000000000": "no BAR0",
		"0x000000000000e000 0x000000000000e0ff 0x0000000000040101": "I/O-port BAR",
		"0x00000000fb000000 0x00000000fb000fff 0x0000000000040200": "is 4096 bytes",
	}
	for line, says := range cases {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", group: 12, bar0: line})
		h.node("vfio/vfio", 0)
		h.node("vfio/12", 0)
		ue := unavailableErr(t, Available(h.cfg), ReasonBAR)
		mustContain(t, ue.Error(), says)
	}
}

func TestVFIOReasons(t *testing.T) {
	t.Run("no IOMMU", func(t *testing.T) {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", noIOMMU: true})
		h.node("vfio/vfio", 0)
		ue := unavailableErr(t, Available(h.cfg), ReasonNoIOMMU)
		mustContain(t, ue.Error(), "no IOMMU group", "intel_iommu=on", "amd_iommu=on")
	})
	t.Run("group not viable", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		h.addDevice("0000:3b:00.1", 0x10ee, 0x9031, dev{driver: "snd_hda_intel", group: 12})
		h.addDevice("0000:3a:00.0", 0x8086, 0x2030, dev{driver: "pcieport", group: 12})
		h.addDevice("0000:3b:00.2", 0x10ee, 0x9032, dev{group: 12})
		ue := unavailableErr(t, Available(h.cfg), ReasonGroupNotViable)
		mustContain(t, ue.Error(), "IOMMU group 12 is not viable: 0000:3b:00.1 is bound to snd_hda_intel")
		if strings.Contains(ue.Error(), "pcieport") || strings.Contains(ue.Error(), "3b:00.2") {
			t.Errorf("bridge or unbound peer blamed: %s", ue)
		}
	})
	t.Run("no container node", func(t *testing.T) {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", group: 12})
		ue := unavailableErr(t, Available(h.cfg), ReasonNoNode)
		mustContain(t, ue.Error(), filepath.Join(h.cfg.Dev, "vfio/vfio")+" does not exist", "modprobe vfio-pci")
	})
	t.Run("no group node", func(t *testing.T) {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "vfio-pci", group: 12})
		h.node("vfio/vfio", 0)
		ue := unavailableErr(t, Available(h.cfg), ReasonNoNode)
		mustContain(t, ue.Error(), filepath.Join(h.cfg.Dev, "vfio/12")+" does not exist")
	})
	t.Run("memlock", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		defer func(f func() (uint64, error)) { memlockBytes = f }(memlockBytes)
		memlockBytes = func() (uint64, error) { return 8 << 20, nil }
		h.setCaps(capAll &^ (1 << capIPCLock))
		ue := unavailableErr(t, Available(h.cfg), ReasonMemlock)
		mustContain(t, ue.Error(), "RLIMIT_MEMLOCK is 8192 KiB", "ulimit -l 65536", "CAP_IPC_LOCK")
		h.setCaps(capAll)
		if err := Available(h.cfg); err != nil {
			t.Fatalf("with CAP_IPC_LOCK: %v", err)
		}
		h.setCaps(0)
		memlockBytes = func() (uint64, error) { return ^uint64(0), nil }
		if err := Available(h.cfg); err != nil {
			t.Fatalf("unlimited memlock: %v", err)
		}
	})
}

func TestNodeProblemPermission(t *testing.T) {
	var got []Problem
	add := func(r Reason, format string, args ...any) {
		got = append(got, Problem{r, fmt.Sprintf(format, args...)})
	}
	// vfio.Access wraps the errno of access(2) this way.
	nodeProblem(add, "/dev/vfio/12", fmt.Errorf("%s: %w", "/dev/vfio/12", syscall.EACCES), "")
	if len(got) != 1 || got[0].Reason != ReasonPermission {
		t.Fatalf("%+v", got)
	}
	mustContain(t, got[0].Text, "permission denied on /dev/vfio/12", "run as root", "chown USER /dev/vfio/12", "udev")
	got = nil
	nodeProblem(add, "/dev/uio0", errors.New("input/output error"), "")
	if len(got) != 1 || got[0].Reason != ReasonNoNode {
		t.Fatalf("%+v", got)
	}
}

func TestUIOReasons(t *testing.T) {
	ready := func(t *testing.T) *fakeHost {
		h := newFakeHost(t)
		h.uioCard()
		h.cfg.MemBytes = 2 << 20
		return h
	}
	t.Run("ready", func(t *testing.T) {
		h := ready(t)
		info, err := Find(h.cfg)
		if err != nil || len(info.Problems) != 0 {
			t.Fatalf("%+v, %v", info.Problems, err)
		}
		if info.Access != AccessUIO || info.UIO != "uio0" || len(info.UIOMaps) != 1 ||
			info.UIOMaps[0] != (UIOMap{Index: 0, Addr: 0xfb000000, Size: 0x10000, Offset: 0}) {
			t.Fatalf("info %+v", info)
		}
	})
	t.Run("no uio device", func(t *testing.T) {
		h := newFakeHost(t)
		h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "uio_pci_generic", group: 12})
		h.cfg.MemBytes = 2 << 20
		ue := unavailableErr(t, Available(h.cfg), ReasonNoNode)
		mustContain(t, ue.Error(), "registered no UIO device", "INTx", "vfio-pci")
	})
	t.Run("no node", func(t *testing.T) {
		h := ready(t)
		os.Remove(h.path("dev/uio0"))
		ue := unavailableErr(t, Available(h.cfg), ReasonNoNode)
		mustContain(t, ue.Error(), filepath.Join(h.cfg.Dev, "uio0")+" does not exist")
	})
	t.Run("no CAP_SYS_ADMIN", func(t *testing.T) {
		h := ready(t)
		h.setCaps(capAll &^ (1 << capSysAdmin))
		ue := unavailableErr(t, Available(h.cfg), ReasonCapability)
		mustContain(t, ue.Error(), "CAP_SYS_ADMIN", "/proc/self/pagemap", "vfio-pci", "IOMMU")
	})
	t.Run("buffer beyond one huge page", func(t *testing.T) {
		h := ready(t)
		h.cfg.MemBytes = 64 << 20
		ue := unavailableErr(t, Available(h.cfg), ReasonContiguity)
		mustContain(t, ue.Error(), "physically contiguous", "64 MiB exceeds the 2048 kB huge page", "default_hugepagesz=1G")
	})
}

func TestHugepageReasons(t *testing.T) {
	t.Run("none reserved", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		h.setHugepages(2048, 0, 0, 0)
		ue := unavailableErr(t, Available(h.cfg), ReasonNoHugepages)
		mustContain(t, ue.Error(), "the 64 MiB DMA buffer needs 32 free 2048 kB huge pages, 0 of 0 are free",
			"echo 32 > "+filepath.Join(h.cfg.Sysfs, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"), "hugepages=32")
	})
	t.Run("reserved by others", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		h.setHugepages(2048, 40, 40, 20)
		ue := unavailableErr(t, Available(h.cfg), ReasonNoHugepages)
		mustContain(t, ue.Error(), "20 of 40 are free", "echo 52 > ")
	})
	t.Run("1 GiB default pages", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		h.write("proc/meminfo", "Hugepagesize:    1048576 kB\n")
		h.setHugepages(1048576, 1, 1, 0)
		info, err := Find(h.cfg)
		if err != nil || len(info.Problems) != 0 || info.Hugepages.PageBytes != 1<<30 {
			t.Fatalf("%+v, %v", info, err)
		}
		if allocBytes(h.cfg.withDefaults(), info.Hugepages) != 1<<30 {
			t.Fatal("64 MiB does not round up to one 1 GiB page")
		}
	})
	t.Run("no hugetlbfs", func(t *testing.T) {
		h := newFakeHost(t)
		h.vfioCard()
		os.RemoveAll(h.path("sys/kernel/mm/hugepages"))
		ue := unavailableErr(t, Available(h.cfg), ReasonNoHugepages)
		mustContain(t, ue.Error(), "CONFIG_HUGETLBFS")
	})
}

func TestEveryProblemListed(t *testing.T) {
	h := newFakeHost(t)
	h.addDevice("0000:3b:00.0", DefaultVendor, DefaultDevice, dev{driver: "", group: 12, bar0: "0x0 0x0 0x0"})
	h.setHugepages(2048, 0, 0, 0)
	ue := unavailableErr(t, Available(h.cfg), ReasonUnbound, ReasonBAR, ReasonNoHugepages)
	if n := strings.Count(ue.Error(), "; "); n < 2 {
		t.Fatalf("problems not joined: %s", ue)
	}
	if !strings.HasPrefix(ue.Error(), "fpga: PCI device 0000:3b:00.0") {
		t.Fatalf("message %q", ue)
	}
}
