// Package vfio is the syscall boundary between the fpga backend and the Linux
// kernel's user-space device interfaces. It holds every ioctl, eventfd, poll
// and physical-address lookup the backend needs, so that nothing above it
// uses unsafe or raw system calls (memory mappings go through
// accel/internal/mmio).
//
// Two paths reach a PCIe card from user space:
//
//   - VFIO (preferred): a container (/dev/vfio/vfio) owns an IOMMU context,
//     a group (/dev/vfio/N) is attached to it, and the group hands out a
//     device file descriptor whose regions (BARs, config space) can be
//     mapped or read and whose interrupts are delivered through eventfds.
//     DMA buffers are mapped into the IOMMU at I/O virtual addresses the
//     process chooses, so the device can reach nothing else in memory.
//   - UIO (second best): uio_pci_generic exposes /dev/uioN, whose mmap
//     offsets select the device's memory maps and whose reads count
//     interrupts. There is no IOMMU context: the device is given raw
//     physical addresses (looked up in /proc/self/pagemap, which needs
//     CAP_SYS_ADMIN) and can, through a bug or a bad descriptor, write
//     anywhere in host memory. The buffer must also be physically
//     contiguous, which only holds within one huge page.
//
// The ioctl numbers and structure layouts are those of the Linux UAPI header
// linux/vfio.h; the tests check them against the header when it is
// installed.
package vfio
