package vfio

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

const headerPath = "/usr/include/linux/vfio.h"

// requests maps header names to the package's request numbers.
var requests = map[string]uintptr{
	"VFIO_GET_API_VERSION":        reqGetAPIVersion,
	"VFIO_CHECK_EXTENSION":        reqCheckExtension,
	"VFIO_SET_IOMMU":              reqSetIOMMU,
	"VFIO_GROUP_GET_STATUS":       reqGroupGetStatus,
	"VFIO_GROUP_SET_CONTAINER":    reqGroupSetContainer,
	"VFIO_GROUP_UNSET_CONTAINER":  reqGroupUnsetContainer,
	"VFIO_GROUP_GET_DEVICE_FD":    reqGroupGetDeviceFD,
	"VFIO_DEVICE_GET_INFO":        reqDeviceGetInfo,
	"VFIO_DEVICE_GET_REGION_INFO": reqDeviceGetRegionInfo,
	"VFIO_DEVICE_GET_IRQ_INFO":    reqDeviceGetIRQInfo,
	"VFIO_DEVICE_SET_IRQS":        reqDeviceSetIRQs,
	"VFIO_DEVICE_RESET":           reqDeviceReset,
	"VFIO_IOMMU_GET_INFO":         reqIOMMUGetInfo,
	"VFIO_IOMMU_MAP_DMA":          reqIOMMUMapDMA,
	"VFIO_IOMMU_UNMAP_DMA":        reqIOMMUUnmapDMA,
}

// values maps header names to the package's flag and extension constants.
var values = map[string]uint64{
	"VFIO_API_VERSION":               APIVersion,
	"VFIO_TYPE1_IOMMU":               Type1IOMMU,
	"VFIO_TYPE1v2_IOMMU":             Type1v2IOMMU,
	"VFIO_NOIOMMU_IOMMU":             NoIOMMU,
	"VFIO_GROUP_FLAGS_VIABLE":        GroupFlagsViable,
	"VFIO_GROUP_FLAGS_CONTAINER_SET": GroupFlagsContainerSet,
	"VFIO_DEVICE_FLAGS_RESET":        DeviceFlagsReset,
	"VFIO_DEVICE_FLAGS_PCI":          DeviceFlagsPCI,
	"VFIO_DEVICE_FLAGS_CAPS":         DeviceFlagsCaps,
	"VFIO_REGION_INFO_FLAG_READ":     RegionFlagRead,
	"VFIO_REGION_INFO_FLAG_WRITE":    RegionFlagWrite,
	"VFIO_REGION_INFO_FLAG_MMAP":     RegionFlagMmap,
	"VFIO_REGION_INFO_FLAG_CAPS":     RegionFlagCaps,
	"VFIO_IRQ_INFO_EVENTFD":          IRQInfoEventFD,
	"VFIO_IRQ_INFO_MASKABLE":         IRQInfoMaskable,
	"VFIO_IRQ_INFO_AUTOMASKED":       IRQInfoAutomasked,
	"VFIO_IRQ_INFO_NORESIZE":         IRQInfoNoResize,
	"VFIO_IRQ_SET_DATA_NONE":         irqSetDataNone,
	"VFIO_IRQ_SET_DATA_BOOL":         irqSetDataBool,
	"VFIO_IRQ_SET_DATA_EVENTFD":      irqSetDataEventFD,
	"VFIO_IRQ_SET_ACTION_MASK":       irqSetActionMask,
	"VFIO_IRQ_SET_ACTION_UNMASK":     irqSetActionUnmask,
	"VFIO_IRQ_SET_ACTION_TRIGGER":    irqSetActionTrigger,
	"VFIO_DMA_MAP_FLAG_READ":         DMAMapFlagRead,
	"VFIO_DMA_MAP_FLAG_WRITE":        DMAMapFlagWrite,
	"VFIO_IOMMU_INFO_PGSIZES":        iommuInfoPgsizes,
	"VFIO_IOMMU_INFO_CAPS":           iommuInfoCaps,

	"VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE": iommuInfoCapIOVARangeID,
}

// enums maps enumerator names to the package's constants.
var enums = map[string]uint64{
	"VFIO_PCI_BAR0_REGION_INDEX":   PCIBAR0RegionIndex,
	"VFIO_PCI_CONFIG_REGION_INDEX": PCIConfigRegionIndex,
	"VFIO_PCI_INTX_IRQ_INDEX":      PCIINTxIRQIndex,
	"VFIO_PCI_MSI_IRQ_INDEX":       PCIMSIIRQIndex,
	"VFIO_PCI_MSIX_IRQ_INDEX":      PCIMSIXIRQIndex,
}

// layouts maps header structs to the Go structs that mirror them; a
// flexible array member at the end is listed in the Go struct only when the
// package fills it (irqSetEventFD's fd).
var layouts = []struct {
	c     string
	goVal any
	extra int // trailing Go fields standing for data[] contents
}{
	{"vfio_group_status", groupStatus{}, 0},
	{"vfio_device_info", deviceInfo{}, 0},
	{"vfio_region_info", regionInfo{}, 0},
	{"vfio_irq_info", irqInfo{}, 0},
	{"vfio_irq_set", irqSet{}, 0},
	{"vfio_irq_set", irqSetEventFD{}, 1},
	{"vfio_iommu_type1_dma_map", dmaMap{}, 0},
	{"vfio_iommu_type1_dma_unmap", dmaUnmap{}, 0},
	{"vfio_iommu_type1_info", iommuType1Info{}, 0},
}

// TestRequestNumbersKnown checks the encodings against values printed by a C
// program compiled with the x86-64 header (asm-generic _IOC layout).
func TestRequestNumbersKnown(t *testing.T) {
	if iocNone != 0 {
		t.Skip("reference values are for the asm-generic ioctl encoding")
	}
	want := map[string]uintptr{
		"VFIO_GET_API_VERSION": 0x3b64, "VFIO_CHECK_EXTENSION": 0x3b65, "VFIO_SET_IOMMU": 0x3b66,
		"VFIO_GROUP_GET_STATUS": 0x3b67, "VFIO_GROUP_SET_CONTAINER": 0x3b68,
		"VFIO_GROUP_UNSET_CONTAINER": 0x3b69, "VFIO_GROUP_GET_DEVICE_FD": 0x3b6a,
		"VFIO_DEVICE_GET_INFO": 0x3b6b, "VFIO_DEVICE_GET_REGION_INFO": 0x3b6c,
		"VFIO_DEVICE_GET_IRQ_INFO": 0x3b6d, "VFIO_DEVICE_SET_IRQS": 0x3b6e, "VFIO_DEVICE_RESET": 0x3b6f,
		"VFIO_IOMMU_GET_INFO": 0x3b70, "VFIO_IOMMU_MAP_DMA": 0x3b71, "VFIO_IOMMU_UNMAP_DMA": 0x3b72,
	}
	for name, w := range want {
		if got := requests[name]; got != w {
			t.Errorf("%s = %#x, want %#x", name, got, w)
		}
	}
	sizes := map[any]uintptr{
		groupStatus{}: 8, deviceInfo{}: 20, regionInfo{}: 32, irqInfo{}: 16, irqSet{}: 20,
		irqSetEventFD{}: 24, dmaMap{}: 32, dmaUnmap{}: 24, iommuType1Info{}: 24,
	}
	for v, w := range sizes {
		if got := reflect.TypeOf(v).Size(); got != w {
			t.Errorf("sizeof %T = %d, want %d", v, got, w)
		}
	}
}

func readHeader(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(headerPath)
	if err != nil {
		t.Skipf("%s not installed (apt-get install linux-libc-dev): %v", headerPath, err)
	}
	return string(b)
}

// ioEncode is _IO(type, nr) for this architecture, written out from
// include/uapi/asm-generic/ioctl.h (dir << 30 | size << 16 | type << 8 | nr,
// _IOC_NONE = 0) or its MIPS/PowerPC variant (_IOC_NONE = 1, dir << 29).
func ioEncode(typ, nr uint64) uint64 {
	dirNone := uint64(0)
	if iocNone != 0 {
		dirNone = 1 << 29
	}
	return dirNone | 0<<16 | typ<<8 | nr
}

func TestRequestNumbersMatchHeader(t *testing.T) {
	h := readHeader(t)
	typ := regexp.MustCompile(`#define\s+VFIO_TYPE\s+\('(.)'\)`).FindStringSubmatch(h)
	base := regexp.MustCompile(`#define\s+VFIO_BASE\s+(\d+)`).FindStringSubmatch(h)
	if typ == nil || base == nil {
		t.Fatal("VFIO_TYPE or VFIO_BASE not found in the header")
	}
	b, _ := strconv.ParseUint(base[1], 10, 64)
	seen := 0
	re := regexp.MustCompile(`#define\s+(VFIO_\w+)\s+_IO\(VFIO_TYPE,\s*VFIO_BASE\s*\+\s*(\d+)\)`)
	for _, m := range re.FindAllStringSubmatch(h, -1) {
		got, ok := requests[m[1]]
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(m[2], 10, 64)
		if want := ioEncode(uint64(typ[1][0]), b+n); uint64(got) != want {
			t.Errorf("%s = %#x, header gives %#x", m[1], got, want)
		}
		seen++
	}
	if seen != len(requests) {
		t.Errorf("found %d of %d requests in the header", seen, len(requests))
	}
}

func TestConstantsMatchHeader(t *testing.T) {
	h := readHeader(t)
	seen := map[string]bool{}
	shift := regexp.MustCompile(`(?m)^#define\s+(VFIO_\w+)\s+\(1 << (\d+)\)`)
	for _, m := range shift.FindAllStringSubmatch(h, -1) {
		if got, ok := values[m[1]]; ok {
			s, _ := strconv.ParseUint(m[2], 10, 64)
			if got != 1<<s {
				t.Errorf("%s = %#x, header gives 1 << %d", m[1], got, s)
			}
			seen[m[1]] = true
		}
	}
	plain := regexp.MustCompile(`(?m)^#define\s+(VFIO_\w+)\s+(\d+)\b`)
	for _, m := range plain.FindAllStringSubmatch(h, -1) {
		if got, ok := values[m[1]]; ok {
			v, _ := strconv.ParseUint(m[2], 10, 64)
			if got != v {
				t.Errorf("%s = %d, header gives %d", m[1], got, v)
			}
			seen[m[1]] = true
		}
	}
	for name := range values {
		if !seen[name] {
			t.Errorf("%s not found in the header", name)
		}
	}
	enumRE := regexp.MustCompile(`(?s)enum\s*\{(.*?)\};`)
	comment := regexp.MustCompile(`(?s)/\*.*?\*/`)
	found := map[string]bool{}
	for _, m := range enumRE.FindAllStringSubmatch(h, -1) {
		body := comment.ReplaceAllString(m[1], "")
		for i, item := range strings.Split(body, ",") {
			name := strings.TrimSpace(item)
			if strings.Contains(name, "=") {
				break
			}
			if want, ok := enums[name]; ok {
				if uint64(i) != want {
					t.Errorf("%s = %d, header gives %d", name, want, i)
				}
				found[name] = true
			}
		}
	}
	for name := range enums {
		if !found[name] {
			t.Errorf("%s not found in the header", name)
		}
	}
}

type cField struct {
	name        string
	off, size   uintptr
	flexibleArr bool
}

var cTypes = map[string]uintptr{"__u8": 1, "__u16": 2, "__u32": 4, "__s32": 4, "__u64": 8, "__aligned_u64": 8}

// cLayout lays out a header struct of fixed-width fields with the natural
// alignment the x86-64 and arm64 ABIs use (every __uN aligned to N/8).
func cLayout(t *testing.T, h, name string) ([]cField, uintptr) {
	t.Helper()
	m := regexp.MustCompile(`(?s)struct\s+` + name + `\s*\{(.*?)\n\};`).FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("struct %s not found in the header", name)
	}
	field := regexp.MustCompile(`^\s*(__\w+)\s+(\w+)(\[\])?;`)
	var fields []cField
	var off, align uintptr = 0, 1
	for _, line := range strings.Split(m[1], "\n") {
		f := field.FindStringSubmatch(line)
		if f == nil {
			continue
		}
		size, ok := cTypes[f[1]]
		if !ok {
			t.Fatalf("struct %s: unknown type %s", name, f[1])
		}
		off = (off + size - 1) &^ (size - 1)
		align = max(align, size)
		fields = append(fields, cField{name: f[2], off: off, size: size, flexibleArr: f[3] != ""})
		if f[3] == "" {
			off += size
		}
	}
	return fields, (off + align - 1) &^ (align - 1)
}

func TestStructLayoutsMatchHeader(t *testing.T) {
	h := readHeader(t)
	for _, l := range layouts {
		fields, size := cLayout(t, h, l.c)
		gt := reflect.TypeOf(l.goVal)
		var named []reflect.StructField
		for i := 0; i < gt.NumField(); i++ {
			if f := gt.Field(i); f.Name != "_" {
				named = append(named, f)
			}
		}
		fixed := fields
		if n := len(fields); n > 0 && fields[n-1].flexibleArr {
			fixed = fields[:n-1]
		}
		if len(named) != len(fixed)+l.extra {
			t.Errorf("%s: Go %s has %d fields, header %d fixed + %d data", l.c, gt.Name(), len(named), len(fixed), l.extra)
			continue
		}
		for i, cf := range fixed {
			gf := named[i]
			if gf.Offset != cf.off || gf.Type.Size() != cf.size {
				t.Errorf("%s.%s: Go %s.%s at %d size %d, header at %d size %d", l.c, cf.name, gt.Name(), gf.Name, gf.Offset, gf.Type.Size(), cf.off, cf.size)
			}
		}
		if l.extra == 0 && gt.Size() != size {
			t.Errorf("sizeof(struct %s) = %d, Go %s is %d", l.c, size, gt.Name(), gt.Size())
		}
		if l.extra > 0 {
			last := fields[len(fields)-1]
			if !last.flexibleArr || named[len(fixed)].Offset != size {
				t.Errorf("%s: data[] at %d, Go %s puts it at %d", l.c, size, gt.Name(), named[len(fixed)].Offset)
			}
		}
	}
	// The C layout helper itself, on a struct with interior padding.
	if _, size := cLayout(t, h, "vfio_iommu_type1_info"); size != unsafe.Sizeof(iommuType1Info{}) || size != 24 {
		t.Errorf("vfio_iommu_type1_info lays out to %d bytes, want 24", size)
	}
}
