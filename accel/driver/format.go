package driver

import (
	"encoding/binary"
	"errors"

	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// Descriptor is one 64-byte descriptor (docs/accel.md §3).
type Descriptor struct {
	Opcode  uint16
	Flags   uint16
	Tag     uint32
	SrcAddr uint64
	SrcLen  uint32
	DstAddr uint64
	DstLen  uint32
	Arg0    uint64
	Arg1    uint64
	Arg2    uint64
}

// DescriptorWords is a descriptor as the eight little-endian 64-bit words the
// device's 64-bit DMA bus carries.
type DescriptorWords [regs.DescBytes / 8]uint64

// Words packs d; reserved fields are zero.
func (d *Descriptor) Words() DescriptorWords {
	return DescriptorWords{
		uint64(d.Opcode) | uint64(d.Flags)<<16 | uint64(d.Tag)<<32,
		d.SrcAddr,
		uint64(d.SrcLen),
		d.DstAddr,
		uint64(d.DstLen),
		d.Arg0,
		d.Arg1,
		d.Arg2,
	}
}

// DescriptorFromWords unpacks a descriptor; reserved fields are ignored.
func DescriptorFromWords(w DescriptorWords) Descriptor {
	return Descriptor{
		Opcode:  uint16(w[0]),
		Flags:   uint16(w[0] >> 16),
		Tag:     uint32(w[0] >> 32),
		SrcAddr: w[1],
		SrcLen:  uint32(w[2]),
		DstAddr: w[3],
		DstLen:  uint32(w[4]),
		Arg0:    w[5],
		Arg1:    w[6],
		Arg2:    w[7],
	}
}

// ErrShort reports a buffer shorter than the structure decoded from it.
var ErrShort = errors.New("accel/driver: buffer too short")

// Encode writes d into b[:regs.DescBytes] in the device's byte order.
func (d *Descriptor) Encode(b []byte) error {
	if len(b) < regs.DescBytes {
		return ErrShort
	}
	w := d.Words()
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
	return nil
}

// DecodeDescriptor reads a descriptor from b[:regs.DescBytes].
func DecodeDescriptor(b []byte) (Descriptor, error) {
	if len(b) < regs.DescBytes {
		return Descriptor{}, ErrShort
	}
	var w DescriptorWords
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return DescriptorFromWords(w), nil
}

// Completion is one 32-byte completion (docs/accel.md §3).
type Completion struct {
	Tag      uint32
	Status   uint16
	Flags    uint16
	Seq      uint32
	Desc     uint32
	Cycles   uint64
	OutBytes uint64
}

// CompletionWords is a completion as four little-endian 64-bit words; word 3
// (CplValidWord) carries VALID and is written last.
type CompletionWords [regs.CplBytes / 8]uint64

// Words packs c.
func (c *Completion) Words() CompletionWords {
	return CompletionWords{
		c.Cycles,
		c.OutBytes,
		uint64(c.Seq) | uint64(c.Desc)<<32,
		uint64(c.Tag) | uint64(c.Status)<<32 | uint64(c.Flags)<<48,
	}
}

// CompletionFromWords unpacks a completion.
func CompletionFromWords(w CompletionWords) Completion {
	return Completion{
		Cycles:   w[0],
		OutBytes: w[1],
		Seq:      uint32(w[2]),
		Desc:     uint32(w[2] >> 32),
		Tag:      uint32(w[3]),
		Status:   uint16(w[3] >> 32),
		Flags:    uint16(w[3] >> 48),
	}
}

// CplValidWord is the index of the completion word that holds VALID: the
// last one, which the device writes in the burst's last beat.
const CplValidWord = regs.CplFlagsOff / 8

// Valid reports whether the completion's VALID flag is set.
func (c *Completion) Valid() bool { return c.Flags&regs.CplFlagsValid != 0 }

// Encode writes c into b[:regs.CplBytes].
func (c *Completion) Encode(b []byte) error {
	if len(b) < regs.CplBytes {
		return ErrShort
	}
	w := c.Words()
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[i*8:], v)
	}
	return nil
}

// DecodeCompletion reads a completion from b[:regs.CplBytes].
func DecodeCompletion(b []byte) (Completion, error) {
	if len(b) < regs.CplBytes {
		return Completion{}, ErrShort
	}
	var w CompletionWords
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return CompletionFromWords(w), nil
}
