// Package driver is Ballast's one host driver for the risk accelerator
// (docs/accel.md), shared by the Verilator simulation (accel/vsim) and the
// FPGA (accel/fpga): they differ only in how they provide the register
// window (Bar) and the DMA memory (Memory).
//
// Open walks the self-describing register blocks, checks the device's
// identity, ABI and function-tables hash, resets it and carves a descriptor
// ring, a completion ring and a buffer arena out of Memory. Submit copies a
// job's input buffers into the arena, writes its descriptors (one job may be
// a chain, e.g. SCENGEN → REVAL → AGGTAIL), rings the doorbell and waits for
// the completions, which it polls from host memory (spin, then yield, then
// sleep; or an interrupt hook). Submit is safe for concurrent use; one
// waiting goroutine at a time polls and hands completions to the others by
// tag. Everything is bounded: jobs in flight by the ring, descriptors per job
// by ChainMax, buffer bytes by the arena.
//
// Failures are typed: a descriptor that completes with an error status gives
// a *DeviceError, a job past its deadline ErrTimeout (wrapping the context
// error), a device stopped on a fatal error ErrHalted. Reset recovers from
// the last two and fails the jobs still in flight with ErrReset.
//
// Memory the device writes (the completion ring) is read with the atomic
// accessors of accel/internal/mmio; output buffers are copied out after the
// completion's VALID word has been read, which orders them.
//
// The package also defines the descriptor and completion formats (Descriptor,
// Completion); accel/driver/devmodel is an in-process device model for tests.
package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// Bar is a device's register window (BAR0).
type Bar interface {
	Read32(off uint32) (uint32, error)
	Write32(off uint32, v uint32) error
}

// Memory is host memory the device reaches by DMA.
type Memory interface {
	Bytes() []byte // the CPU's view; 4 KiB aligned
	IOVA() uint64  // device address of Bytes()[0]
}

// Bounds.
const (
	// ChainMax bounds the descriptors of one job.
	ChainMax = 8
	// BufsMax bounds the buffers of one job.
	BufsMax = 8
	// BufferBytesMax bounds one buffer (descriptor lengths are 32-bit).
	BufferBytesMax = 1 << 31
	// EntriesMin and EntriesMax bound the ring sizes.
	EntriesMin = 1 << regs.RingSizeLog2Min
	EntriesMax = 1 << regs.RingSizeLog2Max
	// ArenaBytesMin is the smallest buffer arena.
	ArenaBytesMin = 4096
	// blocksMax bounds the register-block walk.
	blocksMax = 16
	// pageBytes is the alignment of Memory and of the arena.
	pageBytes = 4096
)

// Defaults.
const (
	// DefaultEntries is the descriptor ring size when Config.Entries is 0.
	DefaultEntries = 256
	// DefaultJobTimeout is the deadline of a job whose context has none.
	DefaultJobTimeout = 30 * time.Second
	// DefaultResetTimeout bounds the wait for STATUS.RESETTING to clear.
	DefaultResetTimeout = time.Second
	// DefaultPollSpins is how many empty polls spin before yielding.
	DefaultPollSpins = 2000
	// DefaultPollSleepMax caps the polling back-off sleep.
	DefaultPollSleepMax = 200 * time.Microsecond
	// DefaultIRQWaitMax caps one call of Config.WaitIRQ.
	DefaultIRQWaitMax = 10 * time.Millisecond
)

// Errors.
var (
	// ErrIncompatible reports a device whose block chain, magic, ABI or
	// tables this driver does not accept; the message says what differs.
	ErrIncompatible = errors.New("accel/driver: incompatible device")
	// ErrConfig reports a bad Config or Memory.
	ErrConfig = errors.New("accel/driver: bad configuration")
	// ErrInvalidJob reports a job that breaks the bounds or the buffer rules.
	ErrInvalidJob = errors.New("accel/driver: invalid job")
	// ErrUnsupported reports an opcode the device does not advertise in
	// ID_CAPS.
	ErrUnsupported = errors.New("accel/driver: opcode not supported by the device")
	// ErrTimeout reports a job past its deadline; the error also wraps
	// context.DeadlineExceeded. The device may still hold the job: call
	// Reset before trusting it again.
	ErrTimeout = errors.New("accel/driver: job timed out")
	// ErrHalted reports a device stopped on a fatal error; Reset recovers.
	ErrHalted = errors.New("accel/driver: device halted")
	// ErrReset reports a job failed because the device was reset.
	ErrReset = errors.New("accel/driver: device reset while the job was in flight")
	// ErrClosed reports a closed Device.
	ErrClosed = errors.New("accel/driver: device closed")
	// ErrResetTimeout reports a device that did not finish a soft reset.
	ErrResetTimeout = errors.New("accel/driver: device did not finish its reset")
	// ErrDevice is matched by every *DeviceError.
	ErrDevice = errors.New("accel/driver: device error")
	// ErrProtocol reports a completion that breaks the ring protocol (wrong
	// sequence, descriptor index or tag); the device needs a reset.
	ErrProtocol = errors.New("accel/driver: completion ring protocol violated")
)

// DeviceError is a descriptor that completed with a non-zero status.
type DeviceError struct {
	// Status is the completion status (regs.Code*).
	Status uint16
	// Name is the status's name (BAD_OPCODE).
	Name string
	// Desc is the descriptor's free-running index.
	Desc uint32
	// Tag is the job's tag.
	Tag uint32
	// Opcode is the failing descriptor's opcode.
	Opcode uint16
	// Pos is the descriptor's position in the job's chain.
	Pos int
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("accel/driver: device error %s (status %d) on descriptor %d (opcode %s %#04x, chain position %d, tag %#x)",
		e.Name, e.Status, e.Desc, regs.OpcodeName(e.Opcode), e.Opcode, e.Pos, e.Tag)
}

// Is matches ErrDevice.
func (e *DeviceError) Is(target error) bool { return target == ErrDevice }

// TimeoutError is a job that missed its deadline.
type TimeoutError struct {
	// Tag is the job's tag.
	Tag uint32
	// After is how long the job had been waiting.
	After time.Duration
	// Err is the context error (context.DeadlineExceeded).
	Err error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("accel/driver: job %#x timed out after %v: %v", e.Tag, e.After, e.Err)
}

// Is matches ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Unwrap returns the context error.
func (e *TimeoutError) Unwrap() error { return e.Err }

// Config configures a Device. The zero value is usable.
type Config struct {
	// Entries is the descriptor ring's size: a power of two in
	// [EntriesMin, EntriesMax]; 0 means DefaultEntries. It also bounds the
	// jobs in flight.
	Entries int
	// CplEntries is the completion ring's size (same rules); 0 means
	// Entries. A smaller completion ring makes the device wait for the host.
	CplEntries int
	// ArenaBytes is the size of the job-buffer arena; 0 means all of Memory
	// after the rings.
	ArenaBytes int
	// TablesHash is the driver's function-tables hash (the device's
	// ID_TABLES_HASH must equal it); 0 skips the check.
	TablesHash uint32
	// JobTimeout is the deadline of a job whose context has none, or an
	// earlier one; 0 means DefaultJobTimeout.
	JobTimeout time.Duration
	// ResetTimeout bounds a soft reset; 0 means DefaultResetTimeout.
	ResetTimeout time.Duration
	// WatchdogCycles is programmed into WATCHDOG_CYCLES (0: off).
	WatchdogCycles uint32
	// WaitIRQ, when set, is called instead of sleeping once polling has
	// spun and yielded without finding a completion: it blocks until the
	// device interrupts (a VFIO eventfd) or ctx ends. The driver then sets
	// CTRL.IRQ_EN and the IRQ flag on each job's last descriptor. Each call
	// is bounded by DefaultIRQWaitMax and the job's deadline.
	WaitIRQ func(ctx context.Context) error
	// PollSpins is how many empty polls spin before yielding; 0 means
	// DefaultPollSpins.
	PollSpins int
	// PollSleepMax caps the back-off sleep; 0 means DefaultPollSleepMax.
	PollSleepMax time.Duration
}

func (c *Config) normalize(memBytes int) error {
	if c.Entries == 0 {
		c.Entries = DefaultEntries
	}
	if c.CplEntries == 0 {
		c.CplEntries = c.Entries
	}
	for _, n := range []int{c.Entries, c.CplEntries} {
		if n < EntriesMin || n > EntriesMax || n&(n-1) != 0 {
			return fmt.Errorf("%w: ring entries %d: want a power of two in [%d, %d]", ErrConfig, n, EntriesMin, EntriesMax)
		}
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.ResetTimeout == 0 {
		c.ResetTimeout = DefaultResetTimeout
	}
	if c.PollSpins == 0 {
		c.PollSpins = DefaultPollSpins
	}
	if c.PollSleepMax == 0 {
		c.PollSleepMax = DefaultPollSleepMax
	}
	if c.JobTimeout < 0 || c.ResetTimeout < 0 || c.PollSpins < 0 || c.PollSleepMax < 0 || c.ArenaBytes < 0 {
		return fmt.Errorf("%w: negative time-out, spin count or size", ErrConfig)
	}
	rings := arenaStart(c.Entries, c.CplEntries)
	if c.ArenaBytes == 0 {
		c.ArenaBytes = (memBytes - rings) &^ (pageBytes - 1)
	}
	if c.ArenaBytes < ArenaBytesMin || rings+c.ArenaBytes > memBytes {
		return fmt.Errorf("%w: %d bytes of memory hold %d bytes of rings and an arena of %d (at least %d)",
			ErrConfig, memBytes, rings, c.ArenaBytes, ArenaBytesMin)
	}
	return nil
}

// arenaStart is the arena's offset in Memory: after the descriptor ring and
// the completion ring, page aligned.
func arenaStart(entries, cplEntries int) int {
	cq := entries * regs.DescBytes
	return (cq + cplEntries*regs.CplBytes + pageBytes - 1) &^ (pageBytes - 1)
}

// Info is what Open read from the device's ID block and the block chain.
type Info struct {
	// ABI is major<<16 | minor.
	ABI uint32
	// TablesHash is ID_TABLES_HASH.
	TablesHash uint32
	// Lanes is ID_LANES.
	Lanes uint32
	// Caps is ID_CAPS.
	Caps uint32
	// ClkMHz is the nominal clock.
	ClkMHz uint32
	// AggColsMax is ID_AGG_COLS_MAX: the most tail scenarios of an AGGTAIL
	// descriptor (0 without AGGTAIL).
	AggColsMax uint32
	// ScenGenUMax is ID_SCENGEN_U_MAX: the most underlyings of a SCENGEN
	// descriptor (0 without SCENGEN).
	ScenGenUMax uint32
	// Bases are the BAR offsets of the blocks, in regs.Blocks order.
	Bases [len(regs.Blocks)]uint32
}

// Supports reports whether the device advertises opcode op; opcodes the
// interface does not define are not checked (the device answers them with
// BAD_OPCODE).
func (i *Info) Supports(op uint16) bool {
	bit, ok := regs.OpcodeCapBit(op)
	return !ok || i.Caps&(1<<bit) != 0
}

// Job states.
const (
	stFree      uint8 = iota
	stPreparing       // resources held, inputs being copied, no descriptors yet
	stInflight        // descriptors in the ring, the submitter waiting
	stAbandoned       // descriptors in the ring, the submitter gone
	stDone            // the device is done with it (or was reset); the submitter collects
)

// job is one slot of the job table.
type job struct {
	state    uint8
	n        int // descriptors
	done     int // completions received
	tag      uint32
	opcodes  [ChainMax]uint16
	cpl      [ChainMax]Completion
	err      error // why the job ended early (reset, halt, time-out), else nil
	start    time.Duration
	deadline time.Duration // since Device.epoch
	arenaRec int           // -1: no arena bytes
	arenaPos int           // offset in Memory
	doneCh   chan struct{} // capacity 1: the state left stInflight
}

// descSlot maps a descriptor ring slot to its job.
type descSlot struct {
	used bool
	job  int32
	pos  int8
	tag  uint32
}

// counters are the driver-side statistics.
type counters struct {
	submitted, completed, descriptors, deviceErrors, timeouts, canceled, resets, halts, spurious, irqWaits uint64
}

// Device is an opened accelerator.
type Device struct {
	bar   Bar
	mem   []byte
	iova  uint64
	cfg   Config
	info  Info
	epoch time.Time

	// Absolute BAR offsets of the registers the driver uses.
	off regOffsets

	dqEntries, cqEntries uint32
	cqOff                int // completion ring offset in mem (the descriptor ring is at 0)
	arenaOff             int

	baton chan struct{} // holds one token while nobody polls

	mu      sync.Mutex
	closed  bool
	failErr error // non-nil: the device halted or the bus failed; Reset clears it
	dqTail  uint32
	dqDone  uint32 // descriptors completed (free-running)
	cqHead  uint32
	nextTag uint32
	slots   []descSlot
	jobs    []job
	free    []int32
	arena   arena
	stats   counters
	lastChk time.Duration // last status / deadline check
}

type regOffsets struct {
	idMagic, idABI, idTablesHash, idLanes, idCaps, idScratch, idCyclesLo, idCyclesHi, idClkMHz     uint32
	idAggColsMax, idScenGenUMax                                                                    uint32
	ctrl, status, errReg, errDesc, jobsDone, busyLo, busyHi, irqStatus, watchdog, faultInject      uint32
	dqBaseLo, dqBaseHi, dqSizeLog2, dqTail, dqHead, cqBaseLo, cqBaseHi, cqSizeLog2, cqTail, cqHead uint32
}

// Block indices in regs.Blocks.
const (
	blkID = iota
	blkCtrl
	blkQueue
)

func (d *Device) rel(blk int, abs uint32) uint32 {
	return d.info.Bases[blk] + abs - regs.Blocks[blk].Base
}

func (d *Device) resolve() {
	o := &d.off
	o.idMagic, o.idABI, o.idTablesHash = d.rel(blkID, regs.RegIDMagic), d.rel(blkID, regs.RegIDABI), d.rel(blkID, regs.RegIDTablesHash)
	o.idLanes, o.idCaps, o.idScratch = d.rel(blkID, regs.RegIDLanes), d.rel(blkID, regs.RegIDCaps), d.rel(blkID, regs.RegIDScratch)
	o.idCyclesLo, o.idCyclesHi, o.idClkMHz = d.rel(blkID, regs.RegIDCyclesLo), d.rel(blkID, regs.RegIDCyclesHi), d.rel(blkID, regs.RegIDClkMHz)
	o.idAggColsMax, o.idScenGenUMax = d.rel(blkID, regs.RegIDAggColsMax), d.rel(blkID, regs.RegIDScengenUMax)
	o.ctrl, o.status, o.errReg = d.rel(blkCtrl, regs.RegCtrl), d.rel(blkCtrl, regs.RegStatus), d.rel(blkCtrl, regs.RegError)
	o.errDesc, o.jobsDone = d.rel(blkCtrl, regs.RegErrorDesc), d.rel(blkCtrl, regs.RegJobsDone)
	o.busyLo, o.busyHi = d.rel(blkCtrl, regs.RegBusyCyclesLo), d.rel(blkCtrl, regs.RegBusyCyclesHi)
	o.irqStatus, o.watchdog, o.faultInject = d.rel(blkCtrl, regs.RegIRQStatus), d.rel(blkCtrl, regs.RegWatchdogCycles), d.rel(blkCtrl, regs.RegFaultInject)
	o.dqBaseLo, o.dqBaseHi, o.dqSizeLog2 = d.rel(blkQueue, regs.RegDQBaseLo), d.rel(blkQueue, regs.RegDQBaseHi), d.rel(blkQueue, regs.RegDQSizeLog2)
	o.dqTail, o.dqHead = d.rel(blkQueue, regs.RegDQTail), d.rel(blkQueue, regs.RegDQHead)
	o.cqBaseLo, o.cqBaseHi, o.cqSizeLog2 = d.rel(blkQueue, regs.RegCQBaseLo), d.rel(blkQueue, regs.RegCQBaseHi), d.rel(blkQueue, regs.RegCQSizeLog2)
	o.cqTail, o.cqHead = d.rel(blkQueue, regs.RegCQTail), d.rel(blkQueue, regs.RegCQHead)
}

// Open checks the device behind bar, resets it, programs its rings in mem
// and enables it.
func Open(bar Bar, mem Memory, cfg Config) (*Device, error) {
	if bar == nil || mem == nil {
		return nil, fmt.Errorf("%w: nil Bar or Memory", ErrConfig)
	}
	b := mem.Bytes()
	iova := mem.IOVA()
	if len(b) == 0 || len(b)%pageBytes != 0 || iova == 0 || iova%pageBytes != 0 || iova+uint64(len(b)) < iova {
		return nil, fmt.Errorf("%w: memory of %d bytes at IOVA %#x: want whole 4 KiB pages at a non-zero, 4 KiB aligned IOVA", ErrConfig, len(b), iova)
	}
	if _, err := mmio.Load64(b, 0); err != nil {
		return nil, fmt.Errorf("%w: memory: %v", ErrConfig, err)
	}
	if err := cfg.normalize(len(b)); err != nil {
		return nil, err
	}
	d := &Device{bar: bar, mem: b, iova: iova, cfg: cfg, epoch: time.Now()}
	if err := d.walk(); err != nil {
		return nil, err
	}
	d.resolve()
	if err := d.identify(); err != nil {
		return nil, err
	}
	d.dqEntries, d.cqEntries = uint32(cfg.Entries), uint32(cfg.CplEntries)
	d.cqOff = cfg.Entries * regs.DescBytes
	d.arenaOff = arenaStart(cfg.Entries, cfg.CplEntries)
	d.slots = make([]descSlot, cfg.Entries)
	d.jobs = make([]job, cfg.Entries)
	d.free = make([]int32, 0, cfg.Entries)
	for i := len(d.jobs) - 1; i >= 0; i-- {
		d.jobs[i] = job{arenaRec: -1, doneCh: make(chan struct{}, 1)}
		d.free = append(d.free, int32(i))
	}
	d.arena = newArena(cfg.ArenaBytes, cfg.Entries)
	d.baton = make(chan struct{}, 1)
	d.baton <- struct{}{}
	d.mu.Lock()
	err := d.restart()
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return d, nil
}

// read32 reads a register, naming it in the error.
func (d *Device) read32(off uint32, name string) (uint32, error) {
	v, err := d.bar.Read32(off)
	if err != nil {
		return 0, fmt.Errorf("accel/driver: read %s at %#04x: %w", name, off, err)
	}
	return v, nil
}

func (d *Device) write32(off uint32, v uint32, name string) error {
	if err := d.bar.Write32(off, v); err != nil {
		return fmt.Errorf("accel/driver: write %s at %#04x: %w", name, off, err)
	}
	return nil
}

// walk follows the block chain from offset 0 and records each block's base.
func (d *Device) walk() error {
	var seen [len(regs.Blocks)]bool
	off := uint32(0)
	for n := 0; ; n++ {
		if n == blocksMax {
			return fmt.Errorf("%w: block chain longer than %d blocks (a loop?)", ErrIncompatible, blocksMax)
		}
		id, err := d.read32(off, "BLK_ID")
		if err != nil {
			return err
		}
		next, err := d.read32(off+4, "BLK_NEXT")
		if err != nil {
			return err
		}
		typ, ver := uint16(id>>regs.BlkIDTypeShift), uint16(id&regs.BlkIDVersionMask)
		k := -1
		for i := range regs.Blocks {
			if regs.Blocks[i].Type == typ {
				k = i
			}
		}
		if k < 0 {
			return fmt.Errorf("%w: unknown block type %#04x (version %d) at %#04x", ErrIncompatible, typ, ver, off)
		}
		blk := &regs.Blocks[k]
		if seen[k] {
			return fmt.Errorf("%w: block %s appears twice (again at %#04x)", ErrIncompatible, blk.Name, off)
		}
		if ver != blk.Version {
			return fmt.Errorf("%w: block %s at %#04x has version %d, the driver knows %d", ErrIncompatible, blk.Name, off, ver, blk.Version)
		}
		seen[k] = true
		d.info.Bases[k] = off
		if next != 0 && (next <= off || next%4 != 0 || next >= regs.BARBytes) {
			return fmt.Errorf("%w: block %s at %#04x points to %#x: the chain must go forward, aligned, inside the BAR", ErrIncompatible, blk.Name, off, next)
		}
		span := blk.Registers[len(blk.Registers)-1].Offset - blk.Base + 4
		end := uint32(regs.BARBytes)
		if next != 0 {
			end = next
		}
		if off+span > end {
			return fmt.Errorf("%w: block %s at %#04x needs %#x bytes but the next block starts at %#04x", ErrIncompatible, blk.Name, off, span, end)
		}
		if next == 0 {
			break
		}
		off = next
	}
	for k, ok := range seen {
		if !ok {
			return fmt.Errorf("%w: no %s block in the chain", ErrIncompatible, regs.Blocks[k].Name)
		}
	}
	return nil
}

// identify reads the ID block and checks magic, ABI and tables hash, then
// tests the bus with the scratch register.
func (d *Device) identify() error {
	magic, err := d.read32(d.off.idMagic, "ID_MAGIC")
	if err != nil {
		return err
	}
	if magic != regs.IDMagicValue {
		return fmt.Errorf("%w: magic %#08x, want %#08x (\"BLST\")", ErrIncompatible, magic, regs.IDMagicValue)
	}
	i := &d.info
	for _, r := range []struct {
		p    *uint32
		off  uint32
		name string
	}{{&i.ABI, d.off.idABI, "ID_ABI"}, {&i.TablesHash, d.off.idTablesHash, "ID_TABLES_HASH"}, {&i.Lanes, d.off.idLanes, "ID_LANES"},
		{&i.Caps, d.off.idCaps, "ID_CAPS"}, {&i.ClkMHz, d.off.idClkMHz, "ID_CLK_MHZ"},
		{&i.AggColsMax, d.off.idAggColsMax, "ID_AGG_COLS_MAX"}, {&i.ScenGenUMax, d.off.idScenGenUMax, "ID_SCENGEN_U_MAX"}} {
		if *r.p, err = d.read32(r.off, r.name); err != nil {
			return err
		}
	}
	major, minor := i.ABI>>regs.IDABIMajorShift, i.ABI&regs.IDABIMinorMask
	if major != regs.IDABIMajorValue || minor < regs.IDABIMinorValue {
		return fmt.Errorf("%w: device ABI %d.%d, the driver speaks %d.%d", ErrIncompatible, major, minor, regs.IDABIMajorValue, regs.IDABIMinorValue)
	}
	if d.cfg.TablesHash != 0 && i.TablesHash != d.cfg.TablesHash {
		return fmt.Errorf("%w: device function tables hash %#08x, the driver's is %#08x (rebuild the bitstream or the simulator)", ErrIncompatible, i.TablesHash, d.cfg.TablesHash)
	}
	for _, pat := range [...]uint32{0xA5A5_5A5A, 0x5A5A_A5A5} {
		if err := d.write32(d.off.idScratch, pat, "ID_SCRATCH"); err != nil {
			return err
		}
		v, err := d.read32(d.off.idScratch, "ID_SCRATCH")
		if err != nil {
			return err
		}
		if v != pat {
			return fmt.Errorf("%w: scratch register reads %#08x after writing %#08x", ErrIncompatible, v, pat)
		}
	}
	return nil
}

// Info returns what Open read from the device.
func (d *Device) Info() Info { return d.info }

// ArenaBytes is the size of the job-buffer arena: a job whose buffers, each
// rounded up to JobBufferBytes, exceed it can never run.
func (d *Device) ArenaBytes() int { return d.arena.size }

// JobBufferBytes is the arena space a job buffer of n bytes takes.
func JobBufferBytes(n int) int { return alignUp(n) }

// now is the monotonic time since Open.
func (d *Device) now() time.Duration { return time.Since(d.epoch) }

// hardReset soft-resets the device and waits for RESETTING to clear. The
// caller holds mu.
func (d *Device) hardReset() error {
	if err := d.write32(d.off.ctrl, regs.CtrlReset, "CTRL"); err != nil {
		return err
	}
	limit := d.now() + d.cfg.ResetTimeout
	for spins := 0; ; spins++ {
		st, err := d.read32(d.off.status, "STATUS")
		if err != nil {
			return err
		}
		if st&regs.StatusResetting == 0 {
			return nil
		}
		if d.now() > limit {
			return fmt.Errorf("%w: STATUS %#x after %v", ErrResetTimeout, st, d.cfg.ResetTimeout)
		}
		backoff(spins, 64, 50*time.Microsecond)
	}
}

// restart resets the device, fails the jobs it held, clears the rings and
// programs and enables the queue. The caller holds mu.
func (d *Device) restart() error {
	err := d.hardReset()
	// Whatever the reset did, no descriptor in the ring will complete now.
	d.failInflight(ErrReset, true)
	d.dqTail, d.dqDone, d.cqHead = 0, 0, 0
	clear(d.slots)
	if err != nil {
		d.failErr = err
		return err
	}
	for i := 0; i < int(d.cqEntries)*regs.CplBytes; i += 8 {
		if err := mmio.Store64(d.mem, d.cqOff+i, 0); err != nil {
			panic("driver: completion ring outside memory: " + err.Error())
		}
	}
	dq, cq := d.iova, d.iova+uint64(d.cqOff)
	ctrl := uint32(regs.CtrlEnable)
	if d.cfg.WaitIRQ != nil {
		ctrl |= regs.CtrlIRQEn
	}
	for _, w := range []struct {
		off  uint32
		v    uint32
		name string
	}{
		{d.off.dqBaseLo, uint32(dq), "DQ_BASE_LO"}, {d.off.dqBaseHi, uint32(dq >> 32), "DQ_BASE_HI"},
		{d.off.dqSizeLog2, log2(d.dqEntries), "DQ_SIZE_LOG2"},
		{d.off.cqBaseLo, uint32(cq), "CQ_BASE_LO"}, {d.off.cqBaseHi, uint32(cq >> 32), "CQ_BASE_HI"},
		{d.off.cqSizeLog2, log2(d.cqEntries), "CQ_SIZE_LOG2"},
		{d.off.dqTail, 0, "DQ_TAIL"}, {d.off.cqHead, 0, "CQ_HEAD"},
		{d.off.watchdog, d.cfg.WatchdogCycles, "WATCHDOG_CYCLES"},
		{d.off.errReg, ^uint32(0), "ERROR"}, {d.off.irqStatus, ^uint32(0), "IRQ_STATUS"},
		{d.off.ctrl, ctrl, "CTRL"},
	} {
		if err := d.write32(w.off, w.v, w.name); err != nil {
			d.failErr = err
			return err
		}
	}
	// A read flushes the posted writes and proves the rings took.
	v, err := d.read32(d.off.dqSizeLog2, "DQ_SIZE_LOG2")
	if err == nil && v != log2(d.dqEntries) {
		err = fmt.Errorf("%w: DQ_SIZE_LOG2 reads %d after writing %d", ErrIncompatible, v, log2(d.dqEntries))
	}
	if err != nil {
		d.failErr = err
		return err
	}
	d.failErr = nil
	return nil
}

func log2(n uint32) uint32 {
	k := uint32(0)
	for n > 1 {
		n >>= 1
		k++
	}
	return k
}

// failInflight ends every job the device holds: jobs with a waiting
// submitter get err; abandoned jobs are released when release is true
// (their descriptors are gone), otherwise kept until a reset.
func (d *Device) failInflight(err error, release bool) {
	for i := range d.jobs {
		j := &d.jobs[i]
		switch j.state {
		case stInflight:
			j.err = err
			if release {
				j.state = stDone
			} else {
				j.state = stAbandoned
			}
			d.signal(j)
		case stAbandoned:
			if release {
				d.release(i)
			}
		}
	}
}

// signal wakes the job's submitter.
func (d *Device) signal(j *job) {
	select {
	case j.doneCh <- struct{}{}:
	default:
	}
}

// release returns job i's arena bytes and slot. The caller holds mu.
func (d *Device) release(i int) {
	j := &d.jobs[i]
	if j.arenaRec >= 0 {
		d.arena.free(j.arenaRec)
	}
	select {
	case <-j.doneCh:
	default:
	}
	*j = job{arenaRec: -1, doneCh: j.doneCh}
	d.free = append(d.free, int32(i))
}

// fail records a fatal condition (halt, bus error): jobs in flight end with
// err and new jobs are refused until Reset. The caller holds mu.
func (d *Device) fail(err error) {
	if d.failErr != nil {
		return
	}
	d.failErr = err
	d.failInflight(err, false)
}

// Reset soft-resets the device and re-programs its rings: it recovers from
// ErrHalted, a time-out or a bus error. Jobs still in flight fail with
// ErrReset.
func (d *Device) Reset() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.stats.resets++
	return d.restart()
}

// Close stops the device (a soft reset, so it no longer reaches Memory) and
// fails the jobs in flight with ErrClosed. The Bar and Memory stay the
// caller's.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.hardReset()
	d.failInflight(ErrClosed, true)
	return err
}
