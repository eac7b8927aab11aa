package vsim

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
)

// ErrSimDead reports a simulator that exited, stopped heartbeating or was
// closed; errors carrying it are *DeathError where the process is known.
var ErrSimDead = errors.New("vsim: simulator dead")

// ErrTimeout reports a mailbox request the simulator did not answer in time
// while still heartbeating, or a simulator that did not start in time.
var ErrTimeout = errors.New("vsim: time-out")

// ErrBus reports an AXI error response to a BAR access; errors carrying it
// are *BusError.
var ErrBus = errors.New("vsim: bus error response")

// ErrOffset reports a BAR offset that is misaligned or outside BAR0.
var ErrOffset = errors.New("vsim: bad BAR offset")

var errClosed = fmt.Errorf("%w: closed", ErrSimDead)

// AXI responses in a mailbox slot.
const (
	respOkay   = 0
	respSlverr = 2
	respDecerr = 3
)

// BusError is an AXI error response to one BAR access.
type BusError struct {
	// Write is true for a write, false for a read.
	Write bool
	// Offset is the BAR offset accessed.
	Offset uint32
	// Resp is the AXI response: 2 SLVERR, 3 DECERR.
	Resp uint32
	// Posted marks an earlier posted write, reported by the next read or
	// Flush.
	Posted bool
}

func (e *BusError) Error() string {
	op := "read"
	if e.Write {
		op = "write"
	}
	name := fmt.Sprintf("response %d", e.Resp)
	switch e.Resp {
	case respSlverr:
		name = "SLVERR"
	case respDecerr:
		name = "DECERR"
	}
	posted := ""
	if e.Posted {
		posted = " (posted, reported late)"
	}
	return fmt.Sprintf("vsim: BAR %s of %#x answered %s%s", op, e.Offset, name, posted)
}

// Unwrap makes errors.Is(err, ErrBus) true.
func (e *BusError) Unwrap() error { return ErrBus }

// Mailbox timing.
const (
	// spinChecks is how many req_head loads pass between clock and
	// liveness checks while waiting.
	spinChecks = 64
	// spinFor is how long a wait spins before yielding the processor.
	spinFor = 50 * time.Microsecond
	// yieldFor is how long it then yields the goroutine before sleeping
	// between checks: kept short, since a spinning thread takes the core
	// the simulator needs when cores are scarce.
	yieldFor = 200 * time.Microsecond
	// sleepStep is the sleep between checks after that.
	sleepStep = 20 * time.Microsecond
)

// Mailbox is the BAR of a simulated device: register accesses become
// requests in the shared file's MMIO mailbox, which the simulator turns into
// AXI4-Lite transactions (docs/accel.md §6). It satisfies the driver's Bar
// interface and is safe for concurrent use; requests are served in the order
// they are posted.
//
// Writes are posted: Write32 returns once the request is in the mailbox. A
// read waits for its own answer, and so for every earlier write (PCIe
// ordering). At most MailboxSlots requests are outstanding; a write into a
// full mailbox waits for a slot. A wait ends with ErrSimDead (wrapped) when
// the simulator dies, stops heartbeating for the heartbeat time-out, or is
// closed, and with ErrTimeout after the request time-out otherwise: no call
// blocks forever.
type Mailbox struct {
	mu        sync.Mutex
	hdr       []byte
	bar       []byte
	alive     func() error
	timeout   time.Duration
	hbTimeout time.Duration
	closed    bool

	tail      uint32 // requests posted
	head      uint32 // completions seen
	postedErr BusError
	hasPosted bool
	stats     MailboxStats
}

// MailboxStats counts mailbox traffic.
type MailboxStats struct {
	Reads, Writes uint64
	// FullWaits counts writes that found all slots busy.
	FullWaits uint64
	// PostedErrors counts posted writes answered with an error.
	PostedErrors uint64
}

// newMailbox serves the mailbox in bar; hdr is the file header (for the
// heartbeat); alive reports a known-dead simulator (nil: never).
func newMailbox(hdr, bar []byte, alive func() error, timeout, hbTimeout time.Duration) *Mailbox {
	if alive == nil {
		alive = func() error { return nil }
	}
	return &Mailbox{hdr: hdr, bar: bar, alive: alive, timeout: timeout, hbTimeout: hbTimeout}
}

func checkOffset(off uint32) error {
	if off%4 != 0 || off >= Bar0Bytes {
		return fmt.Errorf("%w: %#x (4-byte aligned, below %#x)", ErrOffset, off, Bar0Bytes)
	}
	return nil
}

// Write32 posts a 32-bit register write.
func (m *Mailbox) Write32(off, v uint32) error {
	if err := checkOffset(off); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	if err := m.reserve(off, true); err != nil {
		return err
	}
	m.post(mbxOpWrite, off, v)
	m.stats.Writes++
	return nil
}

// Read32 reads a 32-bit register, after every earlier write. A posted write
// that failed since the last report makes it return that *BusError (with the
// value read).
func (m *Mailbox) Read32(off uint32) (uint32, error) {
	if err := checkOffset(off); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed
	}
	if err := m.reserve(off, false); err != nil {
		return 0, err
	}
	idx := m.tail
	m.post(mbxOpRead, off, 0)
	m.stats.Reads++
	if err := m.wait(idx+1, off, false); err != nil {
		return 0, err
	}
	slot := mbxSlots + int(idx%MailboxSlots)*mbxSlotBytes
	v := m.load(slot + 8)
	if resp := m.load(slot + 12); resp != respOkay {
		return v, &BusError{Offset: off, Resp: resp}
	}
	return v, m.takePosted()
}

// Flush waits until every posted write has been performed and reports the
// first one that failed since the last report.
func (m *Mailbox) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	if err := m.wait(m.tail, 0, false); err != nil {
		return err
	}
	return m.takePosted()
}

// Stats is a snapshot of the mailbox counters.
func (m *Mailbox) Stats() MailboxStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

func (m *Mailbox) takePosted() error {
	if !m.hasPosted {
		return nil
	}
	m.hasPosted = false
	e := m.postedErr
	return &e
}

// reserve waits for a free slot.
func (m *Mailbox) reserve(off uint32, write bool) error {
	if m.tail-m.head < MailboxSlots {
		return nil
	}
	m.advance(m.load(mbxReqHead))
	if m.tail-m.head < MailboxSlots {
		return nil
	}
	m.stats.FullWaits++
	return m.wait(m.tail-MailboxSlots+1, off, write)
}

// post fills the next slot and publishes it with a release store of req_tail.
func (m *Mailbox) post(op, off, v uint32) {
	slot := mbxSlots + int(m.tail%MailboxSlots)*mbxSlotBytes
	m.store(slot, op)
	m.store(slot+4, off)
	m.store(slot+8, v)
	m.store(slot+12, 0)
	m.tail++
	m.store(mbxReqTail, m.tail)
}

// advance records completions up to newHead and notes failed posted writes.
func (m *Mailbox) advance(newHead uint32) {
	// Never trust the responder past what was posted.
	if int32(newHead-m.head) <= 0 || int32(m.tail-newHead) < 0 {
		return
	}
	for i := m.head; i != newHead; i++ {
		slot := mbxSlots + int(i%MailboxSlots)*mbxSlotBytes
		if m.load(slot) != mbxOpWrite {
			continue
		}
		if resp := m.load(slot + 12); resp != respOkay {
			m.stats.PostedErrors++
			if !m.hasPosted {
				m.hasPosted = true
				m.postedErr = BusError{Write: true, Offset: m.load(slot + 4), Resp: resp, Posted: true}
			}
		}
	}
	m.head = newHead
}

// wait spins, then yields, then sleeps until req_head reaches target,
// checking liveness, the heartbeat and the deadline as it goes.
func (m *Mailbox) wait(target, off uint32, write bool) error {
	var (
		start  time.Time
		hbLast uint64
		hbAt   time.Time
	)
	for i := 1; ; i++ {
		h := m.load(mbxReqHead)
		if int32(h-target) >= 0 {
			m.advance(h)
			return nil
		}
		if i%spinChecks != 0 {
			continue
		}
		if err := m.alive(); err != nil {
			return err
		}
		now := time.Now()
		if start.IsZero() {
			start, hbAt, hbLast = now, now, m.load64hdr(offHeartbeat)
			continue
		}
		if hb := m.load64hdr(offHeartbeat); hb != hbLast {
			hbLast, hbAt = hb, now
		} else if m.hbTimeout > 0 && now.Sub(hbAt) > m.hbTimeout {
			return fmt.Errorf("%w: heartbeat stalled at %d for %v (BAR %s of %#x waiting)",
				ErrSimDead, hb, now.Sub(hbAt).Round(time.Millisecond), opName(write), off)
		}
		waited := now.Sub(start)
		if m.timeout > 0 && waited > m.timeout {
			return fmt.Errorf("%w: BAR %s of %#x not answered in %v (req_tail %d, req_head %d)",
				ErrTimeout, opName(write), off, m.timeout, m.tail, h)
		}
		switch {
		case waited < spinFor:
		case waited < yieldFor:
			runtime.Gosched()
		default:
			time.Sleep(sleepStep)
		}
	}
}

func opName(write bool) string {
	if write {
		return "write"
	}
	return "read"
}

// close makes every later call fail with ErrSimDead; callers hold no
// reference to the mapping afterwards.
func (m *Mailbox) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

// resetLocked empties the host's view of the mailbox after File.Reset; the
// caller holds m.mu.
func (m *Mailbox) resetLocked() {
	m.tail, m.head = 0, 0
	m.hasPosted = false
}

// The mailbox offsets are constants inside the mapped window, so an mmio
// error is a broken invariant.
func (m *Mailbox) load(off int) uint32 {
	v, err := mmio.Load32(m.bar, off)
	if err != nil {
		panic(err)
	}
	return v
}

func (m *Mailbox) store(off int, v uint32) {
	if err := mmio.Store32(m.bar, off, v); err != nil {
		panic(err)
	}
}

func (m *Mailbox) load64hdr(off int) uint64 {
	v, err := mmio.Load64(m.hdr, off)
	if err != nil {
		panic(err)
	}
	return v
}
