package vsim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
)

// responder plays the simulator's side of the shared file in Go: it serves
// the mailbox from a register array, heartbeats and publishes cycles. Tests
// run it as a goroutine on the same mapping, or in a child process (the test
// binary re-executed as a fake ballast-vsim, see fakeSim).
type responder struct {
	hdr, bar []byte
	regs     [Bar0Bytes / 4]uint32
	// errFrom: offsets at or above it answer SLVERR (0: none).
	errFrom uint32
	// delay is spent on each request.
	delay time.Duration
	// freeze stops serving requests; noBeat stops the heartbeat.
	freeze atomic.Bool
	noBeat atomic.Bool
	served atomic.Uint64
	loops  atomic.Uint64 // iterations of the serving loop

	// record keeps every access served, in order, in log.
	record bool
	mu     sync.Mutex
	log    []access
}

type access struct {
	write bool
	off   uint32
	value uint32
}

// irqOffset: a write there counts an interrupt (fake convention).
const irqOffset = 0xFFFC

func newResponder(hdr, bar []byte) *responder { return &responder{hdr: hdr, bar: bar} }

func (r *responder) must(err error) {
	if err != nil {
		panic(err)
	}
}

func (r *responder) load(b []byte, off int) uint32 {
	v, err := mmio.Load32(b, off)
	r.must(err)
	return v
}

func (r *responder) store(b []byte, off int, v uint32) { r.must(mmio.Store32(b, off, v)) }

// run serves until done reports true (checked every millisecond).
func (r *responder) run(done func() bool) {
	var head, irqs uint32
	var cycles, beat uint64
	last := time.Now()
	for i := 0; ; i++ {
		cycles++
		if !r.freeze.Load() {
			tail := r.load(r.bar, mbxReqTail)
			for head != tail {
				slot := mbxSlots + int(head%MailboxSlots)*mbxSlotBytes
				op, off := r.load(r.bar, slot), r.load(r.bar, slot+4)
				if r.delay > 0 {
					time.Sleep(r.delay)
				}
				resp := uint32(respOkay)
				a := access{write: op == mbxOpWrite, off: off}
				switch {
				case op != mbxOpRead && op != mbxOpWrite:
					resp = respSlverr
				case off >= Bar0Bytes || off%4 != 0:
					resp = respDecerr
				case r.errFrom != 0 && off >= r.errFrom:
					resp = respSlverr
				case op == mbxOpWrite:
					a.value = r.load(r.bar, slot+8)
					r.regs[off/4] = a.value
					if off == irqOffset {
						irqs++
						r.store(r.hdr, offIRQCount, irqs)
					}
				default:
					a.value = r.regs[off/4]
					r.store(r.bar, slot+8, a.value)
				}
				if r.record {
					r.mu.Lock()
					r.log = append(r.log, a)
					r.mu.Unlock()
				}
				r.store(r.bar, slot+12, resp)
				head++
				r.store(r.bar, mbxReqHead, head)
				r.served.Add(1)
			}
		}
		r.loops.Add(1)
		if i%256 != 0 {
			runtime.Gosched()
			continue
		}
		if now := time.Now(); now.Sub(last) >= time.Millisecond {
			last = now
			if !r.noBeat.Load() {
				beat++
				r.must(mmio.Store64(r.hdr, offCycles, cycles))
				r.must(mmio.Store64(r.hdr, offHeartbeat, beat))
			}
			if done() {
				return
			}
		}
	}
}

// pause stops serving and returns once the serving loop has seen it, so no
// request posted afterwards is answered.
func (r *responder) pause() {
	r.freeze.Store(true)
	l := r.loops.Load()
	for r.loops.Load() < l+2 {
		runtime.Gosched()
	}
}

func (r *responder) accesses() []access {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]access(nil), r.log...)
}

// Fake simulator modes (env BALLAST_VSIM_FAKE).
const (
	envFake        = "BALLAST_VSIM_FAKE"
	fakeOK         = "ok"          // serve until stop
	fakeExit       = "exit"        // run ~50 ms, print, exit 3
	fakeStall      = "stall"       // run ~50 ms, then neither serve nor heartbeat, never exit
	fakeIgnoreStop = "ignore-stop" // serve, heartbeat, ignore stop
	fakeNeverReady = "never-ready" // never reach running
	fakeRefuse     = "refuse"      // refuse the file, exit 2
)

// fakeSim is the test binary acting as ballast-vsim; it returns the exit code.
func fakeSim(mode string, args []string) int {
	path := ""
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--shm" {
			path = args[i+1]
		}
	}
	fmt.Fprintf(os.Stderr, "fake-vsim: mode %s args %s\n", mode, strings.Join(args, " "))
	if mode == fakeRefuse || path == "" {
		fmt.Fprintf(os.Stderr, "fake-vsim: refusing shared-memory file %s: bad magic\n", path)
		return 2
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-vsim:", err)
		return 2
	}
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-vsim:", err)
		return 2
	}
	m, err := mmio.MapFile(f, 0, int(st.Size()))
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-vsim:", err)
		return 2
	}
	b := m.Bytes()
	h, err := DecodeHeader(b)
	if err == nil {
		err = h.Validate(st.Size())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake-vsim: refusing:", err)
		return 2
	}
	hdr, bar := b[:HeaderBytes], b[BarOffset:BarOffset+BarWindowBytes]
	r := newResponder(hdr, bar)
	r.must(mmio.Store32(hdr, offSimPID, uint32(os.Getpid())))
	if mode == fakeNeverReady {
		time.Sleep(time.Hour)
		return 1
	}
	r.must(mmio.Store32(hdr, offState, uint32(StateRunning)))
	start := time.Now()
	stopped := func() bool {
		v, err := mmio.Load32(hdr, offStop)
		r.must(err)
		return v != 0
	}
	switch mode {
	case fakeExit:
		r.run(func() bool { return time.Since(start) > 50*time.Millisecond })
		fmt.Fprintln(os.Stderr, "fake-vsim: line one")
		fmt.Fprintln(os.Stderr, "fake-vsim: simulated failure")
		r.must(mmio.Store32(hdr, offState, uint32(StateFailed)))
		return 3
	case fakeStall:
		r.run(func() bool { return time.Since(start) > 50*time.Millisecond })
		fmt.Fprintln(os.Stderr, "fake-vsim: stalling")
		time.Sleep(time.Hour)
		return 1
	case fakeIgnoreStop:
		r.run(func() bool { return false })
		return 1
	}
	r.run(stopped)
	r.must(mmio.Store32(hdr, offState, uint32(StateStopped)))
	fmt.Fprintln(os.Stderr, "fake-vsim: stopped")
	return 0
}
