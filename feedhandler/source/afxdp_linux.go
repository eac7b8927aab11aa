//go:build linux

package source

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/frame"
	"github.com/ballast-risk/ballast/feedhandler/internal/xdpprog"
	"github.com/ballast-risk/ballast/feedhandler/internal/xsk"
)

// afxdpCompletionRing is the completion ring size: the source never
// transmits, but the kernel requires the ring.
const afxdpCompletionRing = xsk.RingSizeMin

// The source's mode enums, indexed into the internal packages' modes.
var (
	afxdpAttachModes = [...]xdpprog.AttachMode{
		XDPAttachAuto:    xdpprog.AttachAuto,
		XDPAttachDriver:  xdpprog.AttachDriver,
		XDPAttachGeneric: xdpprog.AttachGeneric,
	}
	afxdpBindModes = [...]xsk.Mode{
		AFXDPBindAuto:     xsk.ModeAuto,
		AFXDPBindCopy:     xsk.ModeCopy,
		AFXDPBindZeroCopy: xsk.ModeZeroCopy,
	}
)

// afxdpVLANEthBytes is the Ethernet header with one 802.1Q tag: frames of
// MTU+afxdpVLANEthBytes must fit a UMEM frame after its headroom.
const afxdpVLANEthBytes = 18

// AFXDP is an AF_XDP packet source: an XDP program on the interface
// redirects the feed's UDP port to an AF_XDP socket on one RX queue, and
// ReadBatch decodes the frames in place in the UMEM.
//
// Zero copy: Packet.Data points into the UMEM frame the kernel wrote. The
// frames of one ReadBatch are handed back to the kernel (the fill ring) at
// the start of the next ReadBatch, which is why Data is valid only until
// then; after Close it must not be touched at all (the UMEM is unmapped).
//
// Packet.RecvNs is Now() taken once per batch, right after the RX ring was
// read.
//
// ReadBatch must be called from one goroutine at a time; Stats, XDPStats
// and Close may be called from any goroutine. Close wakes a sleeping
// ReadBatch, which then returns ErrClosed.
//
// Virtual interfaces (checked on veth, kernel 6.x): frames that the peer's
// own stack sends reach the socket in both driver (native veth XDP) and
// generic mode, with no XDP program on the peer and no GRO setting; the
// peer needs an XDP program only when frames are redirected into a veth,
// which this source never does. veth has one RX queue by default
// (QueueID 0) and no zero-copy (AFXDPBindZeroCopy fails with
// ErrUnsupported). Re-opening a queue right after Close waits out the
// kernel's asynchronous release of the old socket (about 20 ms).
type AFXDP struct {
	mu      sync.Mutex // serializes ReadBatch and Close
	statsMu sync.Mutex // serializes kernel statistics reads and Close
	sock    *xsk.Socket
	prog    *xdpprog.Program
	cfg     AFXDPConfig
	mode    XDPAttachMode
	bind    AFXDPBindMode
	descs   []xsk.Desc // RX batch; descs[:held] are the caller's frames
	held    int
	closed  atomic.Bool
	final   AFXDPStats // kernel counters captured by Close

	packets, bytes, skipped, malformed atomic.Uint64
}

// OpenAFXDP validates cfg, loads and attaches the XDP program and opens the
// AF_XDP socket. Errors where the kernel refuses AF_XDP or BPF wrap
// ErrUnsupported and carry the errno; invalid settings wrap ErrConfig.
func OpenAFXDP(cfg AFXDPConfig) (*AFXDP, error) {
	ifc, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	xcfg := xsk.Config{
		Ifindex:            ifc.Index,
		QueueID:            cfg.QueueID,
		FrameCount:         cfg.FrameCount,
		FrameSize:          cfg.FrameBytes,
		FillRingSize:       cfg.RingSize,
		CompletionRingSize: afxdpCompletionRing,
		RxRingSize:         cfg.RingSize,
		Mode:               afxdpBindModes[cfg.BindMode],
		NeedWakeup:         cfg.NeedWakeup,
	}
	if err := xcfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}

	a := &AFXDP{cfg: cfg, descs: make([]xsk.Desc, cfg.RingSize)}
	// The socket is bound and registered before the program is attached,
	// so no feed packet is redirected to a queue without a socket.
	if a.sock, err = xsk.Open(xcfg); err != nil {
		return nil, afxdpErr(err)
	}
	if a.prog, err = xdpprog.Load(cfg.DstPort); err != nil {
		a.sock.Close()
		return nil, afxdpErr(err)
	}
	if err := a.prog.Register(cfg.QueueID, a.sock.FD()); err != nil {
		a.release()
		return nil, afxdpErr(err)
	}
	mode, err := a.prog.Attach(ifc.Index, afxdpAttachModes[cfg.XDPMode])
	if err != nil {
		a.release()
		return nil, afxdpErr(err)
	}
	for m, xm := range afxdpAttachModes {
		if xm == mode {
			a.mode = XDPAttachMode(m)
		}
	}
	a.bind = AFXDPBindCopy
	if a.sock.Mode() == xsk.ModeZeroCopy {
		a.bind = AFXDPBindZeroCopy
	}
	return a, nil
}

// Modes returns the XDP mode the program was attached in and the AF_XDP
// mode the kernel granted (AFXDPBindCopy or AFXDPBindZeroCopy).
func (a *AFXDP) Modes() (XDPAttachMode, AFXDPBindMode) { return a.mode, a.bind }

// normalize fills defaults and checks cfg against its bounds and the
// interface; it returns the interface.
func (c *AFXDPConfig) normalize() (*net.Interface, error) {
	if c.FrameCount == 0 {
		c.FrameCount = AFXDPFrameCountDefault
	}
	if c.FrameBytes == 0 {
		c.FrameBytes = AFXDPFrameBytesDefault
	}
	if c.RingSize == 0 {
		c.RingSize = AFXDPRingSizeDefault
	}
	switch {
	case c.Interface == "":
		return nil, fmt.Errorf("%w: AF_XDP needs an Interface", ErrConfig)
	case c.DstPort == 0:
		return nil, fmt.Errorf("%w: AF_XDP needs a UDP DstPort", ErrConfig)
	case c.XDPMode > XDPAttachGeneric:
		return nil, fmt.Errorf("%w: XDPMode %d", ErrConfig, c.XDPMode)
	case c.BindMode > AFXDPBindZeroCopy:
		return nil, fmt.Errorf("%w: BindMode %d", ErrConfig, c.BindMode)
	case c.ReadTimeout < 0 || c.ReadTimeout > AFXDPReadTimeoutLimit:
		return nil, fmt.Errorf("%w: ReadTimeout %v outside [0, %v]", ErrConfig, c.ReadTimeout, AFXDPReadTimeoutLimit)
	case c.QueueID < 0 || c.QueueID > xsk.QueueIDMax:
		return nil, fmt.Errorf("%w: QueueID %d outside [0, %d]", ErrConfig, c.QueueID, xsk.QueueIDMax)
	}
	ifc, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return nil, fmt.Errorf("%w: interface %q: %w", ErrConfig, c.Interface, err)
	}
	if n, err := afxdpRxQueues(c.Interface); err == nil && c.QueueID >= n {
		return nil, fmt.Errorf("%w: interface %s has %d RX queues; QueueID %d does not exist", ErrConfig, c.Interface, n, c.QueueID)
	}
	if c.FrameBytes == xsk.FrameSize2K || c.FrameBytes == xsk.FrameSize4K {
		if room := c.FrameBytes - xsk.FrameHeadroomBytes; ifc.MTU+afxdpVLANEthBytes > room {
			return nil, fmt.Errorf("%w: interface %s MTU %d does not fit %d-byte frames (%d bytes after XDP headroom)",
				ErrConfig, c.Interface, ifc.MTU, c.FrameBytes, room)
		}
	}
	return ifc, nil
}

// afxdpRxQueues counts the interface's RX queues in sysfs.
func afxdpRxQueues(ifname string) (int, error) {
	ents, err := os.ReadDir("/sys/class/net/" + ifname + "/queues")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "rx-") {
			n++
		}
	}
	if n == 0 {
		return 0, errors.New("no rx queues listed")
	}
	return n, nil
}

// afxdpErr adds ErrUnsupported to errors where the kernel refused AF_XDP
// or BPF; the wrapped error keeps the errno text.
func afxdpErr(err error) error {
	if errors.Is(err, xsk.ErrUnsupported) || errors.Is(err, xdpprog.ErrUnsupported) {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return fmt.Errorf("source: AF_XDP: %w", err)
}

// ReadBatch hands the previous batch's frames back to the kernel, then
// fills pkts with up to len(pkts) feed datagrams (at most RingSize). It
// sleeps in poll(2) until a datagram arrives, ReadTimeout passes or Close is
// called; with BusyPoll it never sleeps. Frames that are not IPv4/UDP to the
// feed port are counted Skipped (or Malformed) and recycled at once.
func (a *AFXDP) ReadBatch(pkts []Packet) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed.Load() {
		return 0, ErrClosed
	}
	if a.held > 0 {
		a.sock.Recycle(a.descs[:a.held])
		a.held = 0
	}
	want := min(len(pkts), len(a.descs))
	if want == 0 {
		return 0, nil
	}
	var deadline time.Time
	for {
		n := a.sock.Receive(a.descs[:want])
		if n > 0 {
			if k := a.decode(pkts, n); k > 0 {
				a.held = n
				return k, nil
			}
			// Nothing for the caller: give the frames back and go on.
			a.sock.Recycle(a.descs[:n])
			continue
		}
		if a.cfg.BusyPoll {
			return 0, nil
		}
		timeout := time.Duration(-1)
		if a.cfg.ReadTimeout > 0 {
			if deadline.IsZero() {
				deadline = time.Now().Add(a.cfg.ReadTimeout)
			}
			if timeout = time.Until(deadline); timeout <= 0 {
				return 0, nil
			}
		}
		if _, err := a.sock.Wait(timeout); err != nil {
			if errors.Is(err, xsk.ErrInterrupted) {
				return 0, ErrClosed
			}
			return 0, fmt.Errorf("source: AF_XDP: %w", err)
		}
	}
}

// decode fills pkts from a.descs[:n] and returns the count filled.
func (a *AFXDP) decode(pkts []Packet, n int) int {
	now := Now()
	k := 0
	var bytes, skipped, malformed uint64
	var u frame.UDP
	for _, d := range a.descs[:n] {
		switch err := frame.DecodeUDP(frame.Ethernet, a.sock.Frame(d), &u); {
		case errors.Is(err, frame.ErrNotUDP), errors.Is(err, frame.ErrFragment):
			skipped++
			continue
		case err != nil:
			malformed++
			continue
		}
		if u.DstPort != a.cfg.DstPort {
			skipped++
			continue
		}
		pkts[k] = Packet{
			Data:    u.Payload,
			RecvNs:  now,
			SrcIP:   u.SrcIP,
			DstIP:   u.DstIP,
			SrcPort: u.SrcPort,
			DstPort: u.DstPort,
		}
		bytes += uint64(len(u.Payload))
		k++
	}
	a.packets.Add(uint64(k))
	a.bytes.Add(bytes)
	if skipped > 0 {
		a.skipped.Add(skipped)
	}
	if malformed > 0 {
		a.malformed.Add(malformed)
	}
	return k
}

// Stats returns the source's counters; Dropped is the socket's kernel drop
// count (no free frame, RX ring full).
func (a *AFXDP) Stats() Stats {
	st := Stats{
		Packets:   a.packets.Load(),
		Bytes:     a.bytes.Load(),
		Skipped:   a.skipped.Load(),
		Malformed: a.malformed.Load(),
	}
	if x, err := a.XDPStats(); err == nil || errors.Is(err, ErrClosed) {
		st.Dropped = x.RxDropped + x.RxRingFull
	}
	return st
}

// XDPStats returns the XDP program's and the socket's kernel counters.
// After Close it returns the values captured at Close, with ErrClosed.
func (a *AFXDP) XDPStats() (AFXDPStats, error) {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	if a.closed.Load() && a.sock == nil {
		return a.final, ErrClosed
	}
	return a.kernelStats()
}

// kernelStats reads the counters; statsMu must be held.
func (a *AFXDP) kernelStats() (AFXDPStats, error) {
	x := AFXDPStats{XDPMode: a.mode, ZeroCopy: a.sock.Mode() == xsk.ModeZeroCopy}
	ss, err := a.sock.Statistics()
	if err != nil {
		return x, fmt.Errorf("source: AF_XDP: %w", err)
	}
	x.RxDropped, x.RxRingFull = ss.RxDropped, ss.RxRingFull
	x.RxFillRingEmpty, x.RxInvalidDescs = ss.RxFillRingEmptyDescs, ss.RxInvalidDescs
	c, err := a.prog.Counters()
	if err != nil {
		return x, fmt.Errorf("source: AF_XDP: %w", err)
	}
	x.Redirected, x.NoSocket, x.Passed = c.Redirected, c.NoSocket, c.Passed
	return x, nil
}

// Close detaches the XDP program (feed packets go to the kernel stack
// again), closes the socket and unmaps the UMEM; Packet.Data slices from
// the last batch become invalid. A sleeping ReadBatch is woken and returns
// ErrClosed. Closing twice returns ErrClosed.
func (a *AFXDP) Close() error {
	if a.closed.Swap(true) {
		return ErrClosed
	}
	a.sock.Interrupt()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.release()
}

// release captures the final counters and frees everything OpenAFXDP or
// Close got hold of.
func (a *AFXDP) release() error {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	a.closed.Store(true)
	a.final, _ = a.kernelStats()
	var errs []error
	if err := a.prog.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := a.sock.Close(); err != nil {
		errs = append(errs, err)
	}
	a.sock, a.prog = nil, nil
	a.held = 0
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("source: AF_XDP close: %w", err)
	}
	return nil
}
