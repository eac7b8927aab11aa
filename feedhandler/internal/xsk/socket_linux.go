//go:build linux

package xsk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The mmap'd ring descriptors must match the kernel's layouts.
var (
	_ [unsafe.Sizeof(unix.XDPDesc{}) - unsafe.Sizeof(Desc{})]byte
	_ [unsafe.Sizeof(Desc{}) - unsafe.Sizeof(unix.XDPDesc{})]byte
	_ [unsafe.Offsetof(Desc{}.Len) - unsafe.Offsetof(unix.XDPDesc{}.Len)]byte
	_ [unsafe.Offsetof(unix.XDPDesc{}.Len) - unsafe.Offsetof(Desc{}.Len)]byte
)

// Socket is an AF_XDP socket with its UMEM and rings.
type Socket struct {
	fd     int
	wakeFD int // eventfd that Interrupt makes readable
	cfg    Config
	mode   Mode // the mode the kernel granted: ModeCopy or ModeZeroCopy

	umem  []byte
	rings [4][]byte // fill, completion, RX, TX mappings
	rs    ringSet

	pollFDs     [2]unix.PollFd
	interrupted atomic.Bool
	closed      bool
}

// Open creates an AF_XDP socket as cfg describes: it maps and registers the
// UMEM, creates and maps the rings, loads the fill ring and binds to
// cfg.Ifindex/cfg.QueueID. Errors where the kernel refuses AF_XDP wrap
// ErrUnsupported and the errno. A queue still held by a socket that was
// just closed is retried for up to 2 s before EBUSY is returned.
func Open(cfg Config) (*Socket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Socket{fd: -1, wakeFD: -1, cfg: cfg}
	if err := s.open(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *Socket) open() error {
	cfg := &s.cfg
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return sysErr("socket(AF_XDP)", err)
	}
	s.fd = fd

	umemBytes := cfg.FrameCount * cfg.FrameSize
	s.umem, err = unix.Mmap(-1, 0, umemBytes, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("xsk: mmap UMEM of %d bytes: %w", umemBytes, err)
	}
	reg := unix.XDPUmemReg{
		Addr: uint64(uintptr(unsafe.Pointer(&s.umem[0]))),
		Len:  uint64(umemBytes),
		Size: uint32(cfg.FrameSize),
	}
	if err := setsockopt(s.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return sysErr("setsockopt(XDP_UMEM_REG)", err)
	}
	for _, r := range []struct {
		opt  int
		size int
		name string
	}{
		{unix.XDP_UMEM_FILL_RING, cfg.FillRingSize, "XDP_UMEM_FILL_RING"},
		{unix.XDP_UMEM_COMPLETION_RING, cfg.CompletionRingSize, "XDP_UMEM_COMPLETION_RING"},
		{unix.XDP_RX_RING, cfg.RxRingSize, "XDP_RX_RING"},
		{unix.XDP_TX_RING, cfg.TxRingSize, "XDP_TX_RING"},
	} {
		if r.size == 0 {
			continue
		}
		if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, r.opt, r.size); err != nil {
			return sysErr("setsockopt("+r.name+")", err)
		}
	}

	var off unix.XDPMmapOffsets
	offLen := uint32(unsafe.Sizeof(off))
	if err := getsockopt(s.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), &offLen); err != nil {
		return sysErr("getsockopt(XDP_MMAP_OFFSETS)", err)
	}
	if offLen != uint32(unsafe.Sizeof(off)) {
		return fmt.Errorf("%w: XDP_MMAP_OFFSETS returned %d bytes, want %d (kernel older than 5.4)",
			ErrUnsupported, offLen, unsafe.Sizeof(off))
	}

	if err := s.mapRings(&off); err != nil {
		return err
	}
	s.rs.initFrames()
	s.rs.refill(s.rs.txReserve())

	var flags uint16
	switch cfg.Mode {
	case ModeCopy:
		flags |= unix.XDP_COPY
	case ModeZeroCopy:
		flags |= unix.XDP_ZEROCOPY
	}
	if cfg.NeedWakeup {
		flags |= unix.XDP_USE_NEED_WAKEUP
	}
	if err := s.bind(flags); err != nil {
		op := fmt.Sprintf("bind(ifindex %d, queue %d, %s)", cfg.Ifindex, cfg.QueueID, cfg.Mode)
		if cfg.Mode == ModeZeroCopy && errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("xsk: %s: %w (driver lacks zero-copy): %w", op, ErrUnsupported, err)
		}
		return sysErr(op, err)
	}
	opts, err := unix.GetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_OPTIONS)
	if err != nil {
		return sysErr("getsockopt(XDP_OPTIONS)", err)
	}
	s.mode = ModeCopy
	if opts&unix.XDP_OPTIONS_ZEROCOPY != 0 {
		s.mode = ModeZeroCopy
	}

	s.wakeFD, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("xsk: eventfd: %w", err)
	}
	s.pollFDs = [2]unix.PollFd{
		{Fd: int32(s.fd), Events: unix.POLLIN},
		{Fd: int32(s.wakeFD), Events: unix.POLLIN},
	}
	return nil
}

// Bind retry: the kernel releases a closed socket's hold on its queue
// asynchronously (an RCU grace period and a work item, about 20 ms on
// 6.x), so binding right after a previous socket on the same queue closed
// fails with EBUSY for a moment. The wait is bounded generously: on a
// loaded 2-core machine (the race-detector run of make test) the release
// was seen to take longer than 250 ms.
const (
	bindBusyWait  = 2 * time.Second
	bindBusyRetry = time.Millisecond
)

// bind binds the socket, retrying EBUSY for up to bindBusyWait.
func (s *Socket) bind(flags uint16) error {
	sa := unix.SockaddrXDP{Flags: flags, Ifindex: uint32(s.cfg.Ifindex), QueueID: uint32(s.cfg.QueueID)}
	deadline := time.Now().Add(bindBusyWait)
	for {
		err := unix.Bind(s.fd, &sa)
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(bindBusyRetry)
	}
}

// mapRings maps the rings and points the ring indexes into the mappings.
func (s *Socket) mapRings(off *unix.XDPMmapOffsets) error {
	cfg := &s.cfg
	specs := [4]struct {
		off      *unix.XDPRingOffset
		pgoff    int64
		size     int
		descSize uintptr
		name     string
	}{
		{&off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, cfg.FillRingSize, 8, "fill"},
		{&off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, cfg.CompletionRingSize, 8, "completion"},
		{&off.Rx, unix.XDP_PGOFF_RX_RING, cfg.RxRingSize, unsafe.Sizeof(Desc{}), "RX"},
		{&off.Tx, unix.XDP_PGOFF_TX_RING, cfg.TxRingSize, unsafe.Sizeof(Desc{}), "TX"},
	}
	var idx [4]ringIndex
	for i, sp := range specs {
		if sp.size == 0 {
			continue
		}
		length := int(sp.off.Desc) + sp.size*int(sp.descSize)
		m, err := unix.Mmap(s.fd, sp.pgoff, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return sysErr("mmap "+sp.name+" ring", err)
		}
		s.rings[i] = m
		for _, o := range []uint64{sp.off.Producer, sp.off.Consumer, sp.off.Flags} {
			if o+4 > uint64(len(m)) || o%4 != 0 {
				return fmt.Errorf("xsk: %s ring offset %d outside its %d-byte mapping", sp.name, o, len(m))
			}
		}
		if sp.off.Desc%8 != 0 {
			return fmt.Errorf("xsk: %s ring descriptors at misaligned offset %d", sp.name, sp.off.Desc)
		}
		idx[i] = newRingIndex(
			(*uint32)(unsafe.Pointer(&m[sp.off.Producer])),
			(*uint32)(unsafe.Pointer(&m[sp.off.Consumer])),
			(*uint32)(unsafe.Pointer(&m[sp.off.Flags])),
			uint32(sp.size))
	}
	rs := &s.rs
	rs.umem = s.umem
	rs.frameShift = uint(bits.TrailingZeros(uint(cfg.FrameSize)))
	rs.frameCount = uint64(cfg.FrameCount)
	rs.fill = newProdRing(idx[0].producer, idx[0].consumer, idx[0].flags, idx[0].size)
	rs.fillAddrs = unsafe.Slice((*uint64)(unsafe.Pointer(&s.rings[0][off.Fr.Desc])), cfg.FillRingSize)
	rs.comp = newConsRing(idx[1].producer, idx[1].consumer, idx[1].flags, idx[1].size)
	rs.compAddrs = unsafe.Slice((*uint64)(unsafe.Pointer(&s.rings[1][off.Cr.Desc])), cfg.CompletionRingSize)
	rs.rx = newConsRing(idx[2].producer, idx[2].consumer, idx[2].flags, idx[2].size)
	rs.rxDescs = unsafe.Slice((*Desc)(unsafe.Pointer(&s.rings[2][off.Rx.Desc])), cfg.RxRingSize)
	if cfg.TxRingSize != 0 {
		rs.tx = newProdRing(idx[3].producer, idx[3].consumer, idx[3].flags, idx[3].size)
		rs.txDescs = unsafe.Slice((*Desc)(unsafe.Pointer(&s.rings[3][off.Tx.Desc])), cfg.TxRingSize)
	}
	return nil
}

// FD returns the socket's file descriptor, for insertion into an XSKMAP.
func (s *Socket) FD() int { return s.fd }

// Mode returns the mode the kernel granted: ModeCopy or ModeZeroCopy.
func (s *Socket) Mode() Mode { return s.mode }

// Config returns the configuration the socket was opened with.
func (s *Socket) Config() Config { return s.cfg }

// Receive moves up to len(descs) received packets into descs and returns
// the count; it never blocks. The frames stay owned by the caller, who
// reads them with Frame and hands them back with Recycle.
func (s *Socket) Receive(descs []Desc) int {
	if s.closed {
		return 0
	}
	n := s.rs.receive(descs)
	if n == 0 && s.cfg.NeedWakeup && s.rs.fill.needWakeup() {
		s.kickRx()
	}
	return n
}

// Frame returns the packet bytes of a descriptor from Receive, in place in
// the UMEM. The slice is valid until the frame is recycled.
func (s *Socket) Frame(d Desc) []byte { return s.rs.frame(d) }

// Recycle hands the frames of descs (from Receive, each exactly once) back
// to the kernel through the fill ring, in one batch. Recycling a frame the
// caller does not hold panics.
func (s *Socket) Recycle(descs []Desc) {
	if s.closed {
		return
	}
	s.rs.recycle(descs)
	if s.cfg.NeedWakeup && s.rs.fill.needWakeup() {
		s.kickRx()
	}
}

// Alloc takes a free frame for transmission and returns a descriptor
// spanning the whole frame; false when none is free. Write the packet into
// Frame(d), set d.Len, and pass it to Transmit.
func (s *Socket) Alloc() (Desc, bool) {
	if s.closed {
		return Desc{}, false
	}
	return s.rs.alloc()
}

// Transmit queues descs (from Alloc) on the TX ring and wakes the kernel;
// it returns how many were queued. Frames not queued stay with the caller.
// A socket without a TX ring queues nothing.
func (s *Socket) Transmit(descs []Desc) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	n := s.rs.transmit(descs)
	if n == 0 {
		return 0, nil
	}
	// Copy mode transmits only inside a syscall; zero-copy needs one when
	// the driver asks for it.
	if s.mode == ModeCopy || !s.cfg.NeedWakeup || s.rs.tx.needWakeup() {
		if err := s.kickTx(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Complete returns the frames the kernel has finished transmitting to the
// free pool and reports how many.
func (s *Socket) Complete() int {
	if s.closed {
		return 0
	}
	return s.rs.complete()
}

// FreeFrames returns the number of frames on the free pool.
func (s *Socket) FreeFrames() int { return len(s.rs.free) }

// HeldFrames returns the number of frames the caller holds (received and
// not recycled, or allocated and not transmitted).
func (s *Socket) HeldFrames() int { return s.rs.heldCount() }

// Wait blocks until the RX ring has packets, the timeout passes (false,
// nil) or Interrupt is called (ErrInterrupted). A timeout of 0 polls
// without blocking; a negative one waits without limit. Signals that
// interrupt the underlying ppoll do not end the wait early.
func (s *Socket) Wait(timeout time.Duration) (bool, error) {
	if s.closed {
		return false, ErrClosed
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if s.interrupted.Load() {
			return false, ErrInterrupted
		}
		var ts *unix.Timespec
		if timeout >= 0 {
			t := unix.NsecToTimespec(int64(timeout))
			ts = &t
		}
		s.pollFDs[0].Revents = 0
		s.pollFDs[1].Revents = 0
		n, err := unix.Ppoll(s.pollFDs[:], ts, nil)
		if errors.Is(err, unix.EINTR) {
			if timeout > 0 {
				if timeout = time.Until(deadline); timeout <= 0 {
					return false, nil
				}
			}
			continue
		}
		if err != nil {
			return false, fmt.Errorf("xsk: ppoll: %w", err)
		}
		if n == 0 {
			return false, nil
		}
		if s.pollFDs[1].Revents != 0 {
			return false, ErrInterrupted
		}
		if re := s.pollFDs[0].Revents; re&(unix.POLLERR|unix.POLLNVAL|unix.POLLHUP) != 0 {
			return false, fmt.Errorf("xsk: ppoll: socket reports events %#x", re)
		}
		return s.pollFDs[0].Revents&unix.POLLIN != 0, nil
	}
}

// Interrupt makes the current and every later Wait return ErrInterrupted.
// It is safe to call from any goroutine until Close.
func (s *Socket) Interrupt() {
	if s.interrupted.Swap(true) {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	// The eventfd counter cannot overflow with one write; EAGAIN is moot.
	_, _ = unix.Write(s.wakeFD, one[:])
}

// Statistics returns the kernel's counters for the socket (XDP_STATISTICS),
// plus InvalidDescs counted here.
func (s *Socket) Statistics() (Statistics, error) {
	if s.closed {
		return Statistics{}, ErrClosed
	}
	var ks unix.XDPStatistics
	n := uint32(unsafe.Sizeof(ks))
	if err := getsockopt(s.fd, unix.XDP_STATISTICS, unsafe.Pointer(&ks), &n); err != nil {
		return Statistics{}, sysErr("getsockopt(XDP_STATISTICS)", err)
	}
	// Kernels before 5.9 return only the first three counters (n == 24);
	// the rest stay zero.
	return Statistics{
		RxDropped:            ks.Rx_dropped,
		RxInvalidDescs:       ks.Rx_invalid_descs,
		TxInvalidDescs:       ks.Tx_invalid_descs,
		RxRingFull:           ks.Rx_ring_full,
		RxFillRingEmptyDescs: ks.Rx_fill_ring_empty_descs,
		TxRingEmptyDescs:     ks.Tx_ring_empty_descs,
		InvalidDescs:         s.rs.invalidDescs.Load(),
	}, nil
}

// Close unbinds and closes the socket and unmaps the rings and the UMEM.
// Frames and slices from Frame are invalid afterwards. Closing twice
// returns ErrClosed.
func (s *Socket) Close() error {
	if s.closed {
		return ErrClosed
	}
	return s.release()
}

// release frees whatever open got to; it serves Close and failed opens.
func (s *Socket) release() error {
	s.closed = true
	var errs []error
	if s.fd >= 0 {
		if err := unix.Close(s.fd); err != nil {
			errs = append(errs, fmt.Errorf("xsk: close socket: %w", err))
		}
		s.fd = -1
	}
	for i, m := range s.rings {
		if m != nil {
			if err := unix.Munmap(m); err != nil {
				errs = append(errs, fmt.Errorf("xsk: munmap ring: %w", err))
			}
			s.rings[i] = nil
		}
	}
	if s.umem != nil {
		if err := unix.Munmap(s.umem); err != nil {
			errs = append(errs, fmt.Errorf("xsk: munmap UMEM: %w", err))
		}
		s.umem = nil
	}
	if s.wakeFD >= 0 {
		if err := unix.Close(s.wakeFD); err != nil {
			errs = append(errs, fmt.Errorf("xsk: close eventfd: %w", err))
		}
		s.wakeFD = -1
	}
	s.rs.umem, s.rs.fillAddrs, s.rs.compAddrs, s.rs.rxDescs, s.rs.txDescs = nil, nil, nil, nil, nil
	return errors.Join(errs...)
}

// kickRx asks the kernel to look at the fill ring (XDP_USE_NEED_WAKEUP).
// Failures only delay reception until the next kick or poll, so they are
// not reported.
func (s *Socket) kickRx() {
	_, _, _ = unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
}

// kickTx asks the kernel to transmit what the TX ring holds.
func (s *Socket) kickTx() error {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EBUSY, unix.ENOBUFS:
		// Transient: the kernel is busy or the completion ring is full;
		// the next kick retries.
		return nil
	}
	return fmt.Errorf("xsk: sendto: %w", e)
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, p unsafe.Pointer, n *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// sysErr wraps a failed syscall, adding ErrUnsupported where the errno
// means the kernel refuses AF_XDP (not built in, or not permitted).
func sysErr(op string, err error) error {
	switch {
	case errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EPROTONOSUPPORT),
		errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("xsk: %s: %w: %w", op, ErrUnsupported, err)
	}
	return fmt.Errorf("xsk: %s: %w", op, err)
}
