package vfio

import (
	"encoding/binary"
	"fmt"
	"os"
)

// PCI command register bits (offset 0x04 of configuration space).
const (
	// PCICommandOffset is the byte offset of the command register.
	PCICommandOffset = 0x04
	// PCICommandMemory enables the device's memory BARs.
	PCICommandMemory = 1 << 1
	// PCICommandMaster lets the device master the bus (issue DMA).
	PCICommandMaster = 1 << 2
	// PCICommandINTxDisable masks the legacy interrupt line.
	PCICommandINTxDisable = 1 << 10
)

// ConfigSpace is a device's PCI configuration space, read and written with
// pread/pwrite: the VFIO config region or the sysfs config file.
type ConfigSpace struct {
	f     *os.File
	base  int64
	name  string
	owned bool
}

// OpenConfigFile opens a sysfs configuration-space file
// (/sys/bus/pci/devices/ADDR/config) for reading and writing; writes need
// CAP_SYS_ADMIN.
func OpenConfigFile(path string) (*ConfigSpace, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("vfio: open PCI config space: %w", err)
	}
	return &ConfigSpace{f: f, name: path, owned: true}, nil
}

// Command reads the command register.
func (c *ConfigSpace) Command() (uint16, error) {
	if c.f == nil {
		return 0, ErrClosed
	}
	var b [2]byte
	if _, err := c.f.ReadAt(b[:], c.base+PCICommandOffset); err != nil {
		return 0, fmt.Errorf("vfio: read PCI command register of %s: %w", c.name, err)
	}
	return binary.LittleEndian.Uint16(b[:]), nil
}

// UpdateCommand sets the bits of set and clears those of clear in the
// command register (read-modify-write) and returns the value written.
func (c *ConfigSpace) UpdateCommand(set, clear uint16) (uint16, error) {
	old, err := c.Command()
	if err != nil {
		return 0, err
	}
	v := old&^clear | set
	if v == old {
		return v, nil
	}
	var b [2]byte
	binary.LittleEndian.PutUint16(b[:], v)
	if _, err := c.f.WriteAt(b[:], c.base+PCICommandOffset); err != nil {
		return 0, fmt.Errorf("vfio: write PCI command register of %s: %w", c.name, err)
	}
	return v, nil
}

// Close releases the file when the config space owns it (OpenConfigFile);
// a device's config space is released with the device.
func (c *ConfigSpace) Close() error {
	if c.f == nil {
		return nil
	}
	var err error
	if c.owned {
		err = c.f.Close()
	}
	c.f = nil
	return err
}
