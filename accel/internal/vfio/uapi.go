package vfio

// Values from linux/vfio.h. Names follow the header with the VFIO_ prefix
// dropped and in Go case.

// APIVersion is VFIO_API_VERSION, the only container API version there is.
const APIVersion = 0

// Container extensions (VFIO_CHECK_EXTENSION arguments).
const (
	Type1IOMMU   = 1 // VFIO_TYPE1_IOMMU
	Type1v2IOMMU = 3 // VFIO_TYPE1v2_IOMMU
	NoIOMMU      = 8 // VFIO_NOIOMMU_IOMMU
)

// ioctlType and ioctlBase are VFIO_TYPE (';') and VFIO_BASE.
const (
	ioctlType = ';'
	ioctlBase = 100
)

// ioBase is _IO(VFIO_TYPE, VFIO_BASE): no direction, no size, type in bits
// 8..15, number in bits 0..7. Every VFIO request is _IO(VFIO_TYPE,
// VFIO_BASE + n) with VFIO_BASE + n < 256, so it is ioBase + n.
const ioBase = iocNone | ioctlType<<8 | ioctlBase

// ioctl request numbers, _IO(VFIO_TYPE, VFIO_BASE + n) as in the header.
const (
	reqGetAPIVersion       = ioBase + 0  // VFIO_GET_API_VERSION
	reqCheckExtension      = ioBase + 1  // VFIO_CHECK_EXTENSION
	reqSetIOMMU            = ioBase + 2  // VFIO_SET_IOMMU
	reqGroupGetStatus      = ioBase + 3  // VFIO_GROUP_GET_STATUS
	reqGroupSetContainer   = ioBase + 4  // VFIO_GROUP_SET_CONTAINER
	reqGroupUnsetContainer = ioBase + 5  // VFIO_GROUP_UNSET_CONTAINER
	reqGroupGetDeviceFD    = ioBase + 6  // VFIO_GROUP_GET_DEVICE_FD
	reqDeviceGetInfo       = ioBase + 7  // VFIO_DEVICE_GET_INFO
	reqDeviceGetRegionInfo = ioBase + 8  // VFIO_DEVICE_GET_REGION_INFO
	reqDeviceGetIRQInfo    = ioBase + 9  // VFIO_DEVICE_GET_IRQ_INFO
	reqDeviceSetIRQs       = ioBase + 10 // VFIO_DEVICE_SET_IRQS
	reqDeviceReset         = ioBase + 11 // VFIO_DEVICE_RESET
	reqIOMMUGetInfo        = ioBase + 12 // VFIO_IOMMU_GET_INFO
	reqIOMMUMapDMA         = ioBase + 13 // VFIO_IOMMU_MAP_DMA
	reqIOMMUUnmapDMA       = ioBase + 14 // VFIO_IOMMU_UNMAP_DMA
)

// Group status flags (struct vfio_group_status.flags).
const (
	GroupFlagsViable       = 1 << 0 // VFIO_GROUP_FLAGS_VIABLE
	GroupFlagsContainerSet = 1 << 1 // VFIO_GROUP_FLAGS_CONTAINER_SET
)

// Device flags (struct vfio_device_info.flags).
const (
	DeviceFlagsReset = 1 << 0 // VFIO_DEVICE_FLAGS_RESET
	DeviceFlagsPCI   = 1 << 1 // VFIO_DEVICE_FLAGS_PCI
	DeviceFlagsCaps  = 1 << 7 // VFIO_DEVICE_FLAGS_CAPS
)

// Region flags (struct vfio_region_info.flags).
const (
	RegionFlagRead  = 1 << 0 // VFIO_REGION_INFO_FLAG_READ
	RegionFlagWrite = 1 << 1 // VFIO_REGION_INFO_FLAG_WRITE
	RegionFlagMmap  = 1 << 2 // VFIO_REGION_INFO_FLAG_MMAP
	RegionFlagCaps  = 1 << 3 // VFIO_REGION_INFO_FLAG_CAPS
)

// IRQ info flags (struct vfio_irq_info.flags).
const (
	IRQInfoEventFD    = 1 << 0 // VFIO_IRQ_INFO_EVENTFD
	IRQInfoMaskable   = 1 << 1 // VFIO_IRQ_INFO_MASKABLE
	IRQInfoAutomasked = 1 << 2 // VFIO_IRQ_INFO_AUTOMASKED
	IRQInfoNoResize   = 1 << 3 // VFIO_IRQ_INFO_NORESIZE
)

// IRQ set flags (struct vfio_irq_set.flags).
const (
	irqSetDataNone      = 1 << 0 // VFIO_IRQ_SET_DATA_NONE
	irqSetDataBool      = 1 << 1 // VFIO_IRQ_SET_DATA_BOOL
	irqSetDataEventFD   = 1 << 2 // VFIO_IRQ_SET_DATA_EVENTFD
	irqSetActionMask    = 1 << 3 // VFIO_IRQ_SET_ACTION_MASK
	irqSetActionUnmask  = 1 << 4 // VFIO_IRQ_SET_ACTION_UNMASK
	irqSetActionTrigger = 1 << 5 // VFIO_IRQ_SET_ACTION_TRIGGER
)

// DMA map flags (struct vfio_iommu_type1_dma_map.flags).
const (
	DMAMapFlagRead  = 1 << 0 // VFIO_DMA_MAP_FLAG_READ: the device may read
	DMAMapFlagWrite = 1 << 1 // VFIO_DMA_MAP_FLAG_WRITE: the device may write
)

// IOMMU info flags and capabilities (struct vfio_iommu_type1_info).
const (
	iommuInfoPgsizes        = 1 << 0 // VFIO_IOMMU_INFO_PGSIZES
	iommuInfoCaps           = 1 << 1 // VFIO_IOMMU_INFO_CAPS
	iommuInfoCapIOVARangeID = 1      // VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
)

// PCI region indexes (enum VFIO_PCI_*_REGION_INDEX).
const (
	PCIBAR0RegionIndex   = 0 // VFIO_PCI_BAR0_REGION_INDEX
	PCIConfigRegionIndex = 7 // VFIO_PCI_CONFIG_REGION_INDEX
)

// PCI IRQ indexes (enum VFIO_PCI_*_IRQ_INDEX).
const (
	PCIINTxIRQIndex = 0 // VFIO_PCI_INTX_IRQ_INDEX
	PCIMSIIRQIndex  = 1 // VFIO_PCI_MSI_IRQ_INDEX
	PCIMSIXIRQIndex = 2 // VFIO_PCI_MSIX_IRQ_INDEX
)

// struct vfio_group_status.
type groupStatus struct {
	argsz uint32
	flags uint32
}

// struct vfio_device_info.
type deviceInfo struct {
	argsz      uint32
	flags      uint32
	numRegions uint32
	numIRQs    uint32
	capOffset  uint32
}

// struct vfio_region_info.
type regionInfo struct {
	argsz     uint32
	flags     uint32
	index     uint32
	capOffset uint32
	size      uint64
	offset    uint64
}

// struct vfio_irq_info.
type irqInfo struct {
	argsz uint32
	flags uint32
	index uint32
	count uint32
}

// struct vfio_irq_set with no data (DATA_NONE).
type irqSet struct {
	argsz uint32
	flags uint32
	index uint32
	start uint32
	count uint32
}

// struct vfio_irq_set followed by one __s32 eventfd in data[].
type irqSetEventFD struct {
	argsz uint32
	flags uint32
	index uint32
	start uint32
	count uint32
	fd    int32
}

// struct vfio_iommu_type1_dma_map.
type dmaMap struct {
	argsz uint32
	flags uint32
	vaddr uint64
	iova  uint64
	size  uint64
}

// struct vfio_iommu_type1_dma_unmap without the data[] tail.
type dmaUnmap struct {
	argsz uint32
	flags uint32
	iova  uint64
	size  uint64
}

// struct vfio_iommu_type1_info.
type iommuType1Info struct {
	argsz       uint32
	flags       uint32
	iovaPgsizes uint64
	capOffset   uint32
	_           uint32 // the C struct's tail padding to 8-byte alignment
}
