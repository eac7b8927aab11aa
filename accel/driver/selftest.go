package driver

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// Self-test bounds.
const (
	// SelfTestBlocksMax bounds SelfTestPhilox (16 bytes a block).
	SelfTestBlocksMax = 1 << 20
	// SelfTestCopyBytesMax bounds SelfTestCopy.
	SelfTestCopyBytesMax = 1 << 26
)

// SelfTestPhilox has the device generate blocks Philox4x32-10 blocks: block
// j is Philox(ctr = {lo32(ctr0)+j, hi32(ctr0), lo32(ctr1), hi32(ctr1)},
// key = {lo32(key), hi32(key)}) (SELFTEST_PHILOX, docs/accel.md §4).
func (d *Device) SelfTestPhilox(ctx context.Context, key, ctr0, ctr1 uint64, blocks int) ([][4]uint32, error) {
	if blocks <= 0 || blocks > SelfTestBlocksMax {
		return nil, fmt.Errorf("%w: %d Philox blocks, want 1 to %d", ErrInvalidJob, blocks, SelfTestBlocksMax)
	}
	n := blocks * 16
	out := make([]byte, n)
	jb := Job{
		Descs: []Desc{{Opcode: regs.OpSelftestPhilox, Dst: Ref{Buf: 0, Len: n}, Arg0: key, Arg1: ctr0, Arg2: ctr1}},
		Bufs:  []Buffer{{Bytes: n, Out: out}},
	}
	res, err := d.Submit(ctx, &jb)
	if err != nil {
		return nil, err
	}
	if got := res.Completions[0].OutBytes; got != uint64(n) {
		return nil, fmt.Errorf("%w: SELFTEST_PHILOX wrote %d bytes, want %d", ErrDevice, got, n)
	}
	words := make([][4]uint32, blocks)
	for j := range words {
		for k := range words[j] {
			words[j][k] = binary.LittleEndian.Uint32(out[j*16+k*4:])
		}
	}
	return words, nil
}

// SelfTestCopy has the device copy data through its DMA engine
// (SELFTEST_COPY) and returns what came back; the bytes are padded to a
// multiple of 8 on the way.
func (d *Device) SelfTestCopy(ctx context.Context, data []byte) ([]byte, error) {
	if len(data) > SelfTestCopyBytesMax {
		return nil, fmt.Errorf("%w: %d bytes to copy, at most %d", ErrInvalidJob, len(data), SelfTestCopyBytesMax)
	}
	n := (len(data) + regs.BufAlignBytes - 1) &^ (regs.BufAlignBytes - 1)
	out := make([]byte, n)
	jb := Job{
		Descs: []Desc{{Opcode: regs.OpSelftestCopy, Src: Ref{Buf: 0, Len: n}, Dst: Ref{Buf: 1, Len: n}}},
		Bufs:  []Buffer{{Bytes: n, In: data}, {Bytes: n, Out: out}},
	}
	res, err := d.Submit(ctx, &jb)
	if err != nil {
		return nil, err
	}
	if got := res.Completions[0].OutBytes; got != uint64(n) {
		return nil, fmt.Errorf("%w: SELFTEST_COPY wrote %d bytes, want %d", ErrDevice, got, n)
	}
	return out[:len(data)], nil
}

// Stats is the driver's and the device's counters.
type Stats struct {
	// Driver side.
	Submitted, Completed, Descriptors uint64
	// DeviceErrors counts completions with a non-zero status.
	DeviceErrors uint64
	// Timeouts and Canceled count jobs given up by deadline or context.
	Timeouts, Canceled uint64
	// Resets counts Reset calls; Halts the halts the driver noticed.
	Resets, Halts uint64
	// Spurious counts completions that broke the ring protocol.
	Spurious uint64
	// IRQWaits counts calls of Config.WaitIRQ.
	IRQWaits uint64
	// InFlight is the descriptors the device holds.
	InFlight int
	// ArenaBytesUsed is the arena in use.
	ArenaBytesUsed int

	// Device side.
	JobsDone   uint32 // JOBS_DONE
	BusyCycles uint64 // BUSY_CYCLES
	Cycles     uint64 // ID_CYCLES
	Status     uint32 // STATUS
	Error      uint32 // ERROR
}

// Stats returns the counters; the device's are read from its registers.
func (d *Device) Stats() (Stats, error) {
	d.mu.Lock()
	c := d.stats
	s := Stats{
		Submitted: c.submitted, Completed: c.completed, Descriptors: c.descriptors, DeviceErrors: c.deviceErrors,
		Timeouts: c.timeouts, Canceled: c.canceled, Resets: c.resets, Halts: c.halts, Spurious: c.spurious,
		IRQWaits: c.irqWaits, InFlight: int(d.dqTail - d.dqDone), ArenaBytesUsed: d.arena.used,
	}
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return s, ErrClosed
	}
	var err error
	if s.JobsDone, err = d.read32(d.off.jobsDone, "JOBS_DONE"); err != nil {
		return s, err
	}
	if s.Status, err = d.read32(d.off.status, "STATUS"); err != nil {
		return s, err
	}
	if s.Error, err = d.read32(d.off.errReg, "ERROR"); err != nil {
		return s, err
	}
	if s.BusyCycles, err = d.read64(d.off.busyLo, d.off.busyHi, "BUSY_CYCLES"); err != nil {
		return s, err
	}
	if s.Cycles, err = d.read64(d.off.idCyclesLo, d.off.idCyclesHi, "ID_CYCLES"); err != nil {
		return s, err
	}
	return s, nil
}

// read64 reads a 64-bit counter as HI, LO, HI, retrying while HI changes.
func (d *Device) read64(lo, hi uint32, name string) (uint64, error) {
	for range 8 {
		h1, err := d.read32(hi, name+"_HI")
		if err != nil {
			return 0, err
		}
		l, err := d.read32(lo, name+"_LO")
		if err != nil {
			return 0, err
		}
		h2, err := d.read32(hi, name+"_HI")
		if err != nil {
			return 0, err
		}
		if h1 == h2 {
			return uint64(h1)<<32 | uint64(l), nil
		}
	}
	return 0, fmt.Errorf("accel/driver: %s keeps changing its high word", name)
}

// RegisterDump reads every register of the device (reads have no side
// effects) and formats them one per line with their set fields, for logs.
// A register that cannot be read shows the error.
func (d *Device) RegisterDump() string {
	var b strings.Builder
	for k := range regs.Blocks {
		blk := &regs.Blocks[k]
		fmt.Fprintf(&b, "block %s at %#04x (type %#04x v%d)\n", blk.Name, d.info.Bases[k], blk.Type, blk.Version)
		for _, r := range blk.Registers {
			off := d.rel(k, r.Offset)
			v, err := d.bar.Read32(off)
			if err != nil {
				fmt.Fprintf(&b, "  %#04x %-16s error: %v\n", off, r.Name, err)
				continue
			}
			fmt.Fprintf(&b, "  %#04x %-16s 0x%08x", off, r.Name, v)
			for _, f := range r.Fields {
				fv := (v & f.Mask()) >> f.Lsb
				if f.Width == 1 {
					if fv != 0 {
						fmt.Fprintf(&b, " %s", f.Name)
					}
				} else {
					fmt.Fprintf(&b, " %s=%#x", f.Name, fv)
				}
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Fault is a FAULT_INJECT test hook of the device (docs/accel.md §2).
type Fault uint32

const (
	// FaultDMARead fails the next descriptor with DMA_READ (non-fatal).
	FaultDMARead Fault = regs.FaultInjectDMARead
	// FaultHang makes the next descriptor never complete, until a reset or
	// the watchdog.
	FaultHang Fault = regs.FaultInjectHang
)

// InjectFault arms a FAULT_INJECT hook: the next descriptor the device
// fetches consumes it. It exercises the failure paths above the driver
// (failover, recovery) on a real device or simulator.
func (d *Device) InjectFault(f Fault) error {
	if f != FaultDMARead && f != FaultHang {
		return fmt.Errorf("accel/driver: unknown fault %#x", uint32(f))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if err := d.usable(); err != nil {
		return err
	}
	return d.write32(d.off.faultInject, uint32(f), "FAULT_INJECT")
}
