// Package devmodel is an in-process model of the Ballast accelerator's
// device interface (docs/accel.md): a register file with the documented
// semantics (read-only identity, RW1C error and interrupt bits, a
// self-clearing soft reset, ring registers writable only while disabled,
// free-running indices), a queue engine running in its own goroutine that
// fetches descriptors from host memory, executes them in order, writes
// completions (stalling while the completion ring is full) and halts on
// fatal errors, the FAULT_INJECT and WATCHDOG hooks, and the self-test
// opcodes. Other opcodes answer BAD_OPCODE unless a Handler is registered,
// so a CPU kernel can be plugged in; WithRiskKernel plugs in accel/job's
// executors of SCENGEN, REVAL, AGGTAIL and GREEKS, with their limits.
//
// A Model is both the driver's Bar and its Memory. It is meant for tests of
// the driver and for comparing the Verilator simulation against.
package devmodel

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/engine/scenario"
)

// Defaults.
const (
	// DefaultMemoryBytes is the host memory of a model.
	DefaultMemoryBytes = 16 << 20
	// DefaultIOVA is the device address of host memory byte 0 (as vsim's).
	DefaultIOVA = 0x0000_0010_0000_0000
	// DefaultLanes is ID_LANES.
	DefaultLanes = 8
	// MemoryBytesMax bounds a model's memory.
	MemoryBytesMax = 1 << 32
	// descCycles is the fixed cost of a descriptor in modelled cycles; a
	// descriptor also costs one cycle per 8-byte beat it moves.
	descCycles = 16
	// hangPoll is how often a hung engine checks its watchdog.
	hangPoll = 50 * time.Microsecond
)

// ErrBus is the model's answer to a register access outside BAR0 or not
// 4-byte aligned (a DECERR).
var ErrBus = errors.New("devmodel: register access outside BAR0 or misaligned")

// Handler executes one descriptor: src and dst are the input and output
// buffers in host memory (nil when the length is 0). It returns the bytes it
// wrote and a completion status (regs.Code*).
type Handler func(src, dst []byte, d driver.Descriptor) (outBytes int, status uint16)

// DMA maps the device-address range [addr, addr+n) to host memory; ok is
// false when the range leaves the model's memory (the device's DMA_READ).
type DMA func(addr, n uint64) (b []byte, ok bool)

// DMAHandler is a Handler that also reaches host memory by device address:
// an opcode with an address argument (REVAL's scenario buffer and AGGTAIL's
// loss matrix in arg0) reads it through dma.
type DMAHandler func(src, dst []byte, d driver.Descriptor, dma DMA) (outBytes int, status uint16)

// Option configures a Model.
type Option func(*config) error

type config struct {
	memBytes   int
	iova       uint64
	lanes      uint32
	tablesHash uint32
	caps       uint32
	capsSet    bool
	aggCols    uint32
	scenGenU   uint32
	limitsSet  bool
	risk       bool
	handlers   map[uint16]DMAHandler
}

// WithMemory sets the host memory's size (a multiple of 4 KiB) and its IOVA
// (4 KiB aligned, non-zero).
func WithMemory(bytes int, iova uint64) Option {
	return func(c *config) error {
		if bytes <= 0 || bytes%4096 != 0 || bytes > MemoryBytesMax || iova == 0 || iova%4096 != 0 || iova+uint64(bytes) < iova {
			return fmt.Errorf("devmodel: memory of %d bytes at IOVA %#x", bytes, iova)
		}
		c.memBytes, c.iova = bytes, iova
		return nil
	}
}

// WithLanes sets ID_LANES.
func WithLanes(n uint32) Option {
	return func(c *config) error { c.lanes = n; return nil }
}

// WithLimits sets ID_AGG_COLS_MAX and ID_SCENGEN_U_MAX (both 0 by default;
// with WithRiskKernel, RiskAggColsMax and RiskScenGenUMax). The risk
// kernel's SCENGEN and AGGTAIL answer BAD_DESC beyond them, as the RTL does.
func WithLimits(aggColsMax, scenGenUMax uint32) Option {
	return func(c *config) error {
		c.aggCols, c.scenGenU, c.limitsSet = aggColsMax, scenGenUMax, true
		return nil
	}
}

// WithTablesHash sets ID_TABLES_HASH.
func WithTablesHash(h uint32) Option {
	return func(c *config) error { c.tablesHash = h; return nil }
}

// WithCaps overrides ID_CAPS (by default: the self-tests and every opcode
// with a handler).
func WithCaps(caps uint32) Option {
	return func(c *config) error { c.caps, c.capsSet = caps, true; return nil }
}

// Handle registers fn for opcode; the self-test opcodes may be overridden
// too.
func Handle(opcode uint16, fn Handler) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("devmodel: nil handler for opcode %#04x", opcode)
		}
		c.handlers[opcode] = func(src, dst []byte, d driver.Descriptor, _ DMA) (int, uint16) { return fn(src, dst, d) }
		return nil
	}
}

// HandleDMA registers fn, which may read host memory by device address, for
// opcode.
func HandleDMA(opcode uint16, fn DMAHandler) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("devmodel: nil handler for opcode %#04x", opcode)
		}
		c.handlers[opcode] = fn
		return nil
	}
}

// Model is the device model. Its methods are safe for concurrent use.
type Model struct {
	cfg     config
	mapping *mmio.Mapping
	mem     []byte
	start   time.Time
	dmaFn   DMA // m.dma, made once: a method value per descriptor would allocate

	kick    chan struct{} // the engine has something to look at
	irq     chan struct{} // interrupt edges
	closeCh chan struct{}
	wg      sync.WaitGroup

	mu sync.Mutex
	r  state
}

// state is the register file and the engine's state.
type state struct {
	scratch                                 uint32
	enable, irqEn, resetting                bool
	halted, busy                            bool
	errBits, errDesc                        uint32
	jobsDone                                uint32
	busyCycles                              uint64
	irqStatus, watchdog, faultInject        uint32
	dqBase, cqBase                          uint64
	dqLog2, cqLog2                          uint32
	dqTail, dqHead, cqTail, cqHead          uint32
	hung                                    bool
	hungDesc                                driver.Descriptor
	hungIndex                               uint32
	hungSince                               uint64 // cycle count when the hang began
	stalled                                 bool
	injectDescRead, injectCplWrite, closing bool
}

// New starts a model; Close stops it.
func New(opts ...Option) (*Model, error) {
	c := config{memBytes: DefaultMemoryBytes, iova: DefaultIOVA, lanes: DefaultLanes, handlers: map[uint16]DMAHandler{}}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.risk {
		c.addRiskKernel()
	}
	if !c.capsSet {
		c.caps = 1<<regs.CapSelftestPhiloxBit | 1<<regs.CapSelftestCopyBit
		for op := range c.handlers {
			if bit, ok := regs.OpcodeCapBit(op); ok {
				c.caps |= 1 << bit
			}
		}
	}
	mp, err := mmio.MapAnonymous(c.memBytes, false)
	if err != nil {
		return nil, err
	}
	m := &Model{
		cfg: c, mapping: mp, mem: mp.Bytes(), start: time.Now(),
		kick: make(chan struct{}, 1), irq: make(chan struct{}, 1), closeCh: make(chan struct{}),
	}
	m.dmaFn = m.dma
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// Bytes is the host memory (driver.Memory).
func (m *Model) Bytes() []byte { return m.mem }

// IOVA is the device address of Bytes()[0] (driver.Memory).
func (m *Model) IOVA() uint64 { return m.cfg.iova }

// IRQ delivers one value per interrupt edge while CTRL.IRQ_EN is set (a
// VFIO eventfd's stand-in).
func (m *Model) IRQ() <-chan struct{} { return m.irq }

// Close stops the engine and unmaps the memory; it is safe to call twice.
func (m *Model) Close() error {
	m.mu.Lock()
	if m.r.closing {
		m.mu.Unlock()
		return nil
	}
	m.r.closing = true
	close(m.closeCh)
	m.mu.Unlock()
	m.wg.Wait()
	return m.mapping.Unmap()
}

// Stall stops (true) or restarts (false) descriptor fetching, as a device
// busy elsewhere would: a test hook for a full descriptor ring.
func (m *Model) Stall(on bool) {
	m.mu.Lock()
	m.r.stalled = on
	m.mu.Unlock()
	m.poke()
}

// InjectDescReadError makes the next descriptor fetch fail: a fatal
// DESC_READ that halts the device (a hook beyond FAULT_INJECT).
func (m *Model) InjectDescReadError() {
	m.mu.Lock()
	m.r.injectDescRead = true
	m.mu.Unlock()
	m.poke()
}

// InjectCplWriteError makes the next completion write fail: a fatal
// CPL_WRITE that halts the device.
func (m *Model) InjectCplWriteError() {
	m.mu.Lock()
	m.r.injectCplWrite = true
	m.mu.Unlock()
	m.poke()
}

func (m *Model) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// cycles is the free-running cycle counter at the nominal clock.
func (m *Model) cycles() uint64 {
	return uint64(time.Since(m.start).Nanoseconds()) * regs.IDClkMHzValue / 1000
}

// Read32 reads a register (driver.Bar); reads have no side effects.
func (m *Model) Read32(off uint32) (uint32, error) {
	if off%4 != 0 || off >= regs.BARBytes {
		return 0, fmt.Errorf("%w: read at %#x", ErrBus, off)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := &m.r
	switch off {
	case regs.RegIDBlkID:
		return regs.BlkTypeID<<16 | regs.BlkVersionID, nil
	case regs.RegIDBlkNext:
		return regs.BlkBaseCtrl, nil
	case regs.RegIDMagic:
		return regs.IDMagicValue, nil
	case regs.RegIDABI:
		return regs.IDABIValue, nil
	case regs.RegIDTablesHash:
		return m.cfg.tablesHash, nil
	case regs.RegIDLanes:
		return m.cfg.lanes, nil
	case regs.RegIDCaps:
		return m.cfg.caps, nil
	case regs.RegIDScratch:
		return r.scratch, nil
	case regs.RegIDCyclesLo:
		return uint32(m.cycles()), nil
	case regs.RegIDCyclesHi:
		return uint32(m.cycles() >> 32), nil
	case regs.RegIDClkMHz:
		return regs.IDClkMHzValue, nil
	case regs.RegIDAggColsMax:
		return m.cfg.aggCols, nil
	case regs.RegIDScengenUMax:
		return m.cfg.scenGenU, nil
	case regs.RegCtrlBlkID:
		return regs.BlkTypeCtrl<<16 | regs.BlkVersionCtrl, nil
	case regs.RegCtrlBlkNext:
		return regs.BlkBaseQueue, nil
	case regs.RegCtrl:
		return b2u(r.enable)<<regs.CtrlEnableBit | b2u(r.irqEn)<<regs.CtrlIRQEnBit, nil
	case regs.RegStatus:
		busy := r.busy || r.hung
		return b2u(!busy)<<regs.StatusIdleBit | b2u(busy)<<regs.StatusBusyBit |
			b2u(r.halted)<<regs.StatusHaltedBit | b2u(r.resetting)<<regs.StatusResettingBit, nil
	case regs.RegError:
		return r.errBits, nil
	case regs.RegErrorDesc:
		return r.errDesc, nil
	case regs.RegJobsDone:
		return r.jobsDone, nil
	case regs.RegBusyCyclesLo:
		return uint32(r.busyCycles), nil
	case regs.RegBusyCyclesHi:
		return uint32(r.busyCycles >> 32), nil
	case regs.RegIRQStatus:
		return r.irqStatus, nil
	case regs.RegWatchdogCycles:
		return r.watchdog, nil
	case regs.RegFaultInject:
		return r.faultInject, nil
	case regs.RegQueueBlkID:
		return regs.BlkTypeQueue<<16 | regs.BlkVersionQueue, nil
	case regs.RegQueueBlkNext:
		return 0, nil
	case regs.RegDQBaseLo:
		return uint32(r.dqBase), nil
	case regs.RegDQBaseHi:
		return uint32(r.dqBase >> 32), nil
	case regs.RegDQSizeLog2:
		return r.dqLog2, nil
	case regs.RegDQTail:
		return r.dqTail, nil
	case regs.RegDQHead:
		return r.dqHead, nil
	case regs.RegCQBaseLo:
		return uint32(r.cqBase), nil
	case regs.RegCQBaseHi:
		return uint32(r.cqBase >> 32), nil
	case regs.RegCQSizeLog2:
		return r.cqLog2, nil
	case regs.RegCQTail:
		return r.cqTail, nil
	case regs.RegCQHead:
		return r.cqHead, nil
	}
	return 0, nil
}

// Write32 writes a register (driver.Bar). Writes to read-only or unmapped
// offsets are ignored, as are ring-register writes while enabled and every
// write but SCRATCH during a reset.
func (m *Model) Write32(off uint32, v uint32) error {
	if off%4 != 0 || off >= regs.BARBytes {
		return fmt.Errorf("%w: write at %#x", ErrBus, off)
	}
	m.mu.Lock()
	r := &m.r
	if off == regs.RegIDScratch {
		r.scratch = v
	}
	if r.resetting {
		m.mu.Unlock()
		return nil
	}
	ringRW := !r.enable
	switch off {
	case regs.RegCtrl:
		if v&regs.CtrlReset != 0 {
			r.resetting = true
			break
		}
		r.enable, r.irqEn = v&regs.CtrlEnable != 0, v&regs.CtrlIRQEn != 0
		m.raise()
	case regs.RegError:
		r.errBits &^= v
	case regs.RegIRQStatus:
		r.irqStatus &^= v
	case regs.RegWatchdogCycles:
		r.watchdog = v
	case regs.RegFaultInject:
		r.faultInject = v & (regs.FaultInjectDMARead | regs.FaultInjectHang)
	case regs.RegDQTail:
		r.dqTail = v
	case regs.RegCQHead:
		r.cqHead = v
	case regs.RegDQBaseLo:
		if ringRW {
			r.dqBase = r.dqBase&^0xFFFF_FFFF | uint64(v)
		}
	case regs.RegDQBaseHi:
		if ringRW {
			r.dqBase = r.dqBase&0xFFFF_FFFF | uint64(v)<<32
		}
	case regs.RegDQSizeLog2:
		if ringRW && v >= regs.RingSizeLog2Min && v <= regs.RingSizeLog2Max {
			r.dqLog2 = v
		}
	case regs.RegCQBaseLo:
		if ringRW {
			r.cqBase = r.cqBase&^0xFFFF_FFFF | uint64(v)
		}
	case regs.RegCQBaseHi:
		if ringRW {
			r.cqBase = r.cqBase&0xFFFF_FFFF | uint64(v)<<32
		}
	case regs.RegCQSizeLog2:
		if ringRW && v >= regs.RingSizeLog2Min && v <= regs.RingSizeLog2Max {
			r.cqLog2 = v
		}
	}
	m.mu.Unlock()
	m.poke()
	return nil
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// raise signals an interrupt edge when enabled and pending. Caller holds mu.
func (m *Model) raise() {
	if m.r.irqEn && m.r.irqStatus != 0 {
		select {
		case m.irq <- struct{}{}:
		default:
		}
	}
}

// setError records error bit (status code-1) for descriptor index; a fatal
// one halts. Caller holds mu.
func (m *Model) setError(code uint16, index uint32) {
	if code == 0 {
		return
	}
	if m.r.errBits == 0 {
		m.r.errDesc = index
	}
	m.r.errBits |= 1 << (code - 1)
	if regs.ErrorFatal(code) {
		m.r.halted = true
	}
	m.r.irqStatus |= regs.IRQStatusErr
	m.raise()
}

// reset returns the CTRL and QUEUE blocks to their reset values. Caller
// holds mu.
func (m *Model) reset() {
	r := &m.r
	*r = state{scratch: r.scratch, stalled: r.stalled, closing: r.closing}
}

// translate maps [addr, addr+n) to host memory.
func (m *Model) translate(addr uint64, n uint32) ([]byte, bool) { return m.dma(addr, uint64(n)) }

// dma maps [addr, addr+n) to host memory (the handlers' DMA).
func (m *Model) dma(addr, n uint64) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if addr < m.cfg.iova || addr-m.cfg.iova > uint64(len(m.mem)) || uint64(len(m.mem))-(addr-m.cfg.iova) < n {
		return nil, false
	}
	o := addr - m.cfg.iova
	return m.mem[o : o+n], true
}

// run is the queue engine.
func (m *Model) run() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		progressed, hung := m.step()
		if progressed {
			continue
		}
		var tick <-chan time.Time
		if hung {
			timer.Reset(hangPoll)
			tick = timer.C
		}
		select {
		case <-m.closeCh:
			timer.Stop()
			return
		case <-m.kick:
		case <-tick:
		}
	}
}

// step does one unit of work: a reset, a watchdog abort or one descriptor.
// It reports whether it did anything and whether the engine is hung.
func (m *Model) step() (progressed, hung bool) {
	m.mu.Lock()
	r := &m.r
	if r.resetting {
		m.reset()
		m.mu.Unlock()
		return true, false
	}
	if r.closing || r.halted || !r.enable {
		m.mu.Unlock()
		return false, false
	}
	dqEntries, cqEntries := uint32(1)<<r.dqLog2, uint32(1)<<r.cqLog2
	if r.hung {
		if r.watchdog != 0 && m.cycles()-r.hungSince > uint64(r.watchdog) && r.cqTail-r.cqHead < cqEntries {
			r.hung = false
			m.finish(r.hungDesc, r.hungIndex, regs.CodeWatchdog, 0, uint64(r.watchdog))
			m.mu.Unlock()
			return true, false
		}
		m.mu.Unlock()
		return false, true
	}
	if r.stalled || r.dqHead == r.dqTail || r.cqTail-r.cqHead >= cqEntries || r.dqLog2 == 0 || r.cqLog2 == 0 {
		m.mu.Unlock()
		return false, false
	}
	index := r.dqHead
	var w driver.DescriptorWords
	slot := r.dqBase + uint64(index&(dqEntries-1))*regs.DescBytes
	if _, ok := m.translate(slot, regs.DescBytes); !ok || r.injectDescRead || r.dqBase%regs.DQBaseAlignBytes != 0 {
		r.injectDescRead = false
		m.setError(regs.CodeDescRead, index)
		m.mu.Unlock()
		return true, false
	}
	base := int(slot - m.cfg.iova)
	for k := range w {
		w[k], _ = mmio.Load64(m.mem, base+k*8)
	}
	r.dqHead++
	d := driver.DescriptorFromWords(w)
	if r.faultInject&regs.FaultInjectHang != 0 {
		r.faultInject &^= regs.FaultInjectHang
		r.hung, r.hungDesc, r.hungIndex, r.hungSince = true, d, index, m.cycles()
		m.mu.Unlock()
		return true, true
	}
	dmaFault := r.faultInject&regs.FaultInjectDMARead != 0
	r.faultInject &^= regs.FaultInjectDMARead
	watchdog := r.watchdog
	r.busy = true
	m.mu.Unlock()

	status, out, cycles := m.execute(d, dmaFault)
	if watchdog != 0 && cycles > uint64(watchdog) {
		status, out, cycles = regs.CodeWatchdog, 0, uint64(watchdog)
	}

	m.mu.Lock()
	r.busy = false
	if r.resetting || r.closing {
		// A reset aborts the descriptor: no completion.
		m.mu.Unlock()
		return true, false
	}
	m.finish(d, index, status, out, cycles)
	m.mu.Unlock()
	return true, false
}

// execute runs one descriptor without the lock: it touches only the
// descriptor's buffers.
func (m *Model) execute(d driver.Descriptor, dmaFault bool) (status uint16, out, cycles uint64) {
	cycles = descCycles + uint64(d.SrcLen)/8 + uint64(d.DstLen)/8
	if d.SrcAddr%regs.BufAlignBytes != 0 || d.DstAddr%regs.BufAlignBytes != 0 ||
		d.SrcLen%regs.BufAlignBytes != 0 || d.DstLen%regs.BufAlignBytes != 0 {
		return regs.CodeBadDesc, 0, descCycles
	}
	h, ok := m.cfg.handlers[d.Opcode]
	if !ok {
		switch d.Opcode {
		case regs.OpSelftestPhilox:
			h = func(src, dst []byte, d driver.Descriptor, _ DMA) (int, uint16) { return philox(src, dst, d) }
		case regs.OpSelftestCopy:
			h = func(src, dst []byte, d driver.Descriptor, _ DMA) (int, uint16) { return copyOp(src, dst, d) }
		default:
			return regs.CodeBadOpcode, 0, descCycles
		}
	}
	src, ok := m.translate(d.SrcAddr, d.SrcLen)
	if !ok || dmaFault {
		return regs.CodeDMARead, 0, cycles
	}
	dst, ok := m.translate(d.DstAddr, d.DstLen)
	if !ok {
		return regs.CodeDMAWrite, 0, cycles
	}
	n, st := h(src, dst, d, m.dmaFn)
	if n < 0 || n > len(dst) {
		n = 0
	}
	return st, uint64(n), cycles
}

// finish writes the completion of descriptor index and updates the
// counters. Caller holds mu.
func (m *Model) finish(d driver.Descriptor, index uint32, status uint16, out, cycles uint64) {
	r := &m.r
	cqEntries := uint32(1) << r.cqLog2
	c := driver.Completion{Tag: d.Tag, Status: status, Flags: regs.CplFlagsValid, Seq: r.cqTail, Desc: index, Cycles: cycles, OutBytes: out}
	slot := r.cqBase + uint64(r.cqTail&(cqEntries-1))*regs.CplBytes
	_, ok := m.translate(slot, regs.CplBytes)
	if !ok || r.injectCplWrite || r.cqBase%regs.CQBaseAlignBytes != 0 {
		r.injectCplWrite = false
		m.setError(regs.CodeCplWrite, index)
		return
	}
	off := int(slot - m.cfg.iova)
	w := c.Words()
	for k := range w { // the last word, with VALID, last
		_ = mmio.Store64(m.mem, off+k*8, w[k])
	}
	r.cqTail++
	r.jobsDone++
	r.busyCycles += cycles
	m.setError(status, index)
	if d.Flags&regs.DescFlagsIRQ != 0 {
		r.irqStatus |= regs.IRQStatusCpl
		m.raise()
	}
}

// philox is SELFTEST_PHILOX.
func philox(_, dst []byte, d driver.Descriptor) (int, uint16) {
	key := [2]uint32{uint32(d.Arg0), uint32(d.Arg0 >> 32)}
	blocks := len(dst) / 16
	for j := 0; j < blocks; j++ {
		ctr := [4]uint32{uint32(d.Arg1) + uint32(j), uint32(d.Arg1 >> 32), uint32(d.Arg2), uint32(d.Arg2 >> 32)}
		out := scenario.Philox4x32(ctr, key)
		for k, v := range out {
			b := dst[j*16+k*4:]
			b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	}
	return blocks * 16, regs.CodeOK
}

// copyOp is SELFTEST_COPY.
func copyOp(src, dst []byte, _ driver.Descriptor) (int, uint16) {
	if len(dst) < len(src) {
		return 0, regs.CodeBadDesc
	}
	return copy(dst, src), regs.CodeOK
}
