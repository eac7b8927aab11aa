//go:build linux && cgo

package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

// AFPacket captures frames from a network interface through an AF_PACKET
// TPACKET_V3 memory-mapped ring (github.com/google/gopacket/afpacket) and
// decodes them to IPv4/UDP. A classic BPF filter attached to the socket
// drops the host's own outgoing frames and, with DstPort set, every other
// port, in the kernel; frames that reach the ring but are not IPv4/UDP to
// DstPort count as Skipped, broken ones as Malformed.
//
// Frames are read in place from the ring; each payload is copied once into
// a batch buffer, because the ring block it sits in may go back to the
// kernel before the batch ends.
//
// Packet.RecvNs is the kernel's receive timestamp of the frame, mapped into
// the Now clock (an offset between the wall and monotonic clocks taken once
// per batch) and capped at the time of the batch. Unlike a socket's batch
// stamp, it includes the time the frame waited in the ring.
//
// ReadBatch must be called from one goroutine at a time; Stats and Close
// may be called from any goroutine.
type AFPacket struct {
	tp      *afpacket.TPacket
	fd      int // the packet socket, polled directly
	wakeFD  int // eventfd: Close wakes a blocked ReadBatch through it
	link    frame.LinkType
	dstPort uint16
	timeout time.Duration

	// life is held shared by ReadBatch and Stats and exclusively by Close,
	// which must not unmap the ring under a reader.
	life   sync.RWMutex
	closed atomic.Bool

	arena payloadArena
	udp   frame.UDP
	pfds  [2]unix.PollFd
	stats statsCounters
}

// OpenAFPacket opens an AF_PACKET source on cfg.Interface. It needs
// CAP_NET_RAW; the error says so when the kernel refuses.
func OpenAFPacket(cfg AFPacketConfig) (*AFPacket, error) {
	if err := cfg.normalize(os.Getpagesize()); err != nil {
		return nil, err
	}
	link, err := interfaceLinkType(cfg.Interface)
	if err != nil {
		return nil, err
	}
	prog, err := afpacketFilter(link, cfg.DstPort)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("source: assemble AF_PACKET filter: %w", err)
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(cfg.Interface),
		afpacket.TPacketVersion3,
		afpacket.SocketRaw,
		afpacket.OptFrameSize(cfg.FrameBytes),
		afpacket.OptBlockSize(cfg.BlockBytes),
		afpacket.OptNumBlocks(cfg.Blocks),
		afpacket.OptBlockTimeout(cfg.BlockTimeout),
		// Reads never block inside gopacket: ReadBatch polls the socket
		// itself, together with the eventfd Close uses to wake it.
		afpacket.OptPollTimeout(0),
	)
	if err != nil {
		return nil, fmt.Errorf("source: AF_PACKET on %s: %w", cfg.Interface, err)
	}
	fail := func(err error) (*AFPacket, error) {
		tp.Close()
		return nil, err
	}
	fd, err := tpacketFD(tp)
	if err != nil {
		return fail(err)
	}
	if err := tp.SetBPF(raw); err != nil {
		return fail(fmt.Errorf("source: AF_PACKET filter on %s: %w", cfg.Interface, err))
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail(fmt.Errorf("source: eventfd: %w", err))
	}
	a := &AFPacket{
		tp:      tp,
		fd:      fd,
		wakeFD:  wake,
		link:    link,
		dstPort: cfg.DstPort,
		timeout: cfg.ReadTimeout,
		arena:   newPayloadArena(afpacketArenaBytes),
	}
	a.pfds[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	a.pfds[1] = unix.PollFd{Fd: int32(wake), Events: unix.POLLIN}
	return a, nil
}

// tpacketFD reads the socket descriptor gopacket keeps unexported, so
// ReadBatch can poll it alongside the wake-up eventfd. The field is read,
// never written; the pinned gopacket version's layout is checked here.
func tpacketFD(tp *afpacket.TPacket) (int, error) {
	v := reflect.ValueOf(tp).Elem().FieldByName("fd")
	if !v.IsValid() || v.Kind() != reflect.Int {
		return 0, fmt.Errorf("%w: gopacket afpacket.TPacket has no int fd field", ErrUnsupported)
	}
	fd := int(v.Int())
	if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || typ != unix.AF_PACKET {
		return 0, fmt.Errorf("%w: gopacket afpacket.TPacket fd %d is not a packet socket (%v)", ErrUnsupported, fd, err)
	}
	return fd, nil
}

// interfaceLinkType maps the interface's ARPHRD type to the frames a raw
// packet socket sees on it.
func interfaceLinkType(ifName string) (frame.LinkType, error) {
	if strings.ContainsAny(ifName, "/\x00") || ifName == "." || ifName == ".." {
		return 0, fmt.Errorf("%w: interface name %q", ErrConfig, ifName)
	}
	b, err := os.ReadFile("/sys/class/net/" + ifName + "/type")
	if err != nil {
		return 0, fmt.Errorf("source: interface %s: %w", ifName, err)
	}
	typ, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("source: interface %s type %q: %w", ifName, b, err)
	}
	switch typ {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return frame.Ethernet, nil
	case unix.ARPHRD_NONE: // tun devices: raw IP
		return frame.RawIP, nil
	}
	return 0, fmt.Errorf("%w: interface %s has ARPHRD type %d", ErrUnsupported, ifName, typ)
}

// ReadBatch returns up to len(pkts) UDP datagrams. It blocks until at
// least one is ready, returns (0, nil) after ReadTimeout, and ErrClosed
// after Close. Packet data is valid until the next ReadBatch.
func (a *AFPacket) ReadBatch(pkts []Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	a.life.RLock()
	defer a.life.RUnlock()
	if a.closed.Load() {
		return 0, ErrClosed
	}
	var deadline time.Time
	n := a.arena.reset(pkts)
	for {
		var readErr error
		var monoNow, wallToMono int64
		for n < len(pkts) {
			data, ci, err := a.tp.ZeroCopyReadPacketData()
			if err != nil {
				if !errors.Is(err, afpacket.ErrTimeout) {
					readErr = err
				}
				break
			}
			if monoNow == 0 {
				monoNow = Now()
				wallToMono = monoNow - time.Now().UnixNano()
			}
			pk, ok := a.decode(data, ci, monoNow, wallToMono)
			if !ok {
				continue
			}
			if !a.arena.add(&pkts[n], pk) {
				break
			}
			n++
		}
		if n > 0 {
			var bytes uint64
			for i := range pkts[:n] {
				bytes += uint64(len(pkts[i].Data))
			}
			a.stats.packets.Add(uint64(n))
			a.stats.bytes.Add(bytes)
			return n, nil
		}
		if readErr != nil {
			return 0, fmt.Errorf("source: AF_PACKET read: %w", readErr)
		}
		// Nothing ready: wait for the socket, the wake-up or the timeout.
		waitMs := -1
		if a.timeout > 0 {
			if deadline.IsZero() {
				deadline = time.Now().Add(a.timeout)
			}
			left := time.Until(deadline)
			if left <= 0 {
				return 0, nil
			}
			waitMs = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		a.pfds[0].Revents, a.pfds[1].Revents = 0, 0
		if _, err := unix.Poll(a.pfds[:], waitMs); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("source: AF_PACKET poll: %w", err)
		}
		if a.pfds[1].Revents != 0 || a.closed.Load() {
			return 0, ErrClosed
		}
		if a.pfds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 && a.pfds[0].Revents&unix.POLLIN == 0 {
			return 0, fmt.Errorf("source: AF_PACKET poll: socket error (revents %#x)", a.pfds[0].Revents)
		}
	}
}

// decode turns one captured frame into a Packet aliasing the ring, or
// counts why not.
func (a *AFPacket) decode(data []byte, ci gopacket.CaptureInfo, monoNow, wallToMono int64) (Packet, bool) {
	if err := frame.DecodeUDP(a.link, data, &a.udp); err != nil {
		if errors.Is(err, frame.ErrMalformed) {
			a.stats.malformed.Add(1)
		} else {
			a.stats.skipped.Add(1)
		}
		return Packet{}, false
	}
	if a.dstPort != 0 && a.udp.DstPort != a.dstPort {
		a.stats.skipped.Add(1)
		return Packet{}, false
	}
	recv := ci.Timestamp.UnixNano() + wallToMono
	if recv > monoNow || recv < 0 {
		recv = monoNow
	}
	return Packet{
		Data:    a.udp.Payload,
		RecvNs:  recv,
		SrcIP:   a.udp.SrcIP,
		DstIP:   a.udp.DstIP,
		SrcPort: a.udp.SrcPort,
		DstPort: a.udp.DstPort,
	}, true
}

// Stats returns the counters; Dropped is the kernel's count of frames the
// ring had no room for. Safe from any goroutine.
func (a *AFPacket) Stats() Stats {
	a.life.RLock()
	if !a.closed.Load() {
		if _, v3, err := a.tp.SocketStats(); err == nil {
			a.stats.dropped.Store(uint64(v3.Drops()))
		}
	}
	a.life.RUnlock()
	return a.stats.snapshot()
}

// Close wakes a blocked ReadBatch, waits for it to leave, and releases the
// ring and the socket. Close is idempotent.
func (a *AFPacket) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, wakeErr := unix.Write(a.wakeFD, one[:])
	a.life.Lock()
	defer a.life.Unlock()
	if _, v3, err := a.tp.SocketStats(); err == nil {
		a.stats.dropped.Store(uint64(v3.Drops()))
	}
	a.tp.Close()
	if err := unix.Close(a.wakeFD); err != nil {
		return fmt.Errorf("source: close eventfd: %w", err)
	}
	if wakeErr != nil {
		return fmt.Errorf("source: wake reader: %w", wakeErr)
	}
	return nil
}
