//go:build linux

package source

import (
	"context"
	"encoding/binary"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// dropCmsgBytes is the control buffer per datagram: one SO_RXQ_OVFL
// message carrying the socket's cumulative drop count (a uint32).
var dropCmsgBytes = unix.CmsgSpace(4)

// listenUDP binds a UDP socket with the options the feed needs: the
// kernel's drop counter on every datagram (SO_RXQ_OVFL) and, for multicast,
// SO_REUSEADDR so several processes can listen to one group, and
// IP_MULTICAST_ALL off, so the socket (which the net package binds to the
// wildcard address for a group) gets only the groups it joined itself.
func listenUDP(bind *net.UDPAddr, multicast bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var optErr error
		err := c.Control(func(fd uintptr) {
			if multicast {
				if optErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); optErr != nil {
					return
				}
				if optErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0); optErr != nil {
					return
				}
			}
			optErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		})
		if err != nil {
			return err
		}
		return optErr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", bind.String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// setRecvBuffer asks for a receive buffer of n bytes, past
// net.core.rmem_max when the process has CAP_NET_ADMIN (SO_RCVBUFFORCE).
func setRecvBuffer(conn *net.UDPConn, n int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var optErr error
	err = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) == nil {
			return
		}
		optErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	})
	if err != nil {
		return err
	}
	return optErr
}

// recvBuffer returns the receive buffer size the kernel reports.
func recvBuffer(conn *net.UDPConn) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var optErr error
	err = rc.Control(func(fd uintptr) {
		n, optErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	if err != nil {
		return 0, err
	}
	return n, optErr
}

func newUDPReceiver(conn *net.UDPConn, pc *ipv4.PacketConn, batchMax, datagramBytesMax int, portable bool) (udpReceiver, error) {
	if portable {
		return newXNetReceiver(pc, batchMax, datagramBytesMax, dropCmsgBytes), nil
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return newMmsgReceiver(rc, batchMax, datagramBytesMax), nil
}

// mmsgReceiver calls recvmmsg(2) directly on preallocated message headers,
// buffers, address and control slots, through the runtime poller (so read
// deadlines and Close work as on any net.Conn). Unlike the x/net path it
// allocates nothing per datagram.
type mmsgReceiver struct {
	rc     syscall.RawConn
	hdrs   []unix.Mmsghdr
	iovs   []unix.Iovec
	names  []unix.RawSockaddrInet4
	bufs   [][]byte
	oob    []byte
	metas  []udpMeta
	drop   uint64
	readFn func(fd uintptr) bool // r.read, bound once so Read does not allocate

	// Per-call state shared with readFn.
	k     int
	n     int
	errno unix.Errno
}

func newMmsgReceiver(rc syscall.RawConn, batchMax, datagramBytesMax int) *mmsgReceiver {
	r := &mmsgReceiver{
		rc:    rc,
		hdrs:  make([]unix.Mmsghdr, batchMax),
		iovs:  make([]unix.Iovec, batchMax),
		names: make([]unix.RawSockaddrInet4, batchMax),
		bufs:  make([][]byte, batchMax),
		oob:   make([]byte, batchMax*dropCmsgBytes),
		metas: make([]udpMeta, batchMax),
	}
	r.readFn = r.read
	// One spare byte per buffer, as in the x/net path; MSG_TRUNC is
	// checked too.
	stride := datagramBytesMax + 1
	slab := make([]byte, batchMax*stride)
	for i := range r.hdrs {
		r.bufs[i] = slab[i*stride : (i+1)*stride : (i+1)*stride]
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(stride)
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oob[i*dropCmsgBytes]
	}
	return r
}

// read is the RawConn.Read callback: one non-blocking recvmmsg. It returns
// false only on EAGAIN, to wait for the socket to become readable.
func (r *mmsgReceiver) read(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.k), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), errno
		return true
	}
}

func (r *mmsgReceiver) recv(k int) (int, error) {
	for i := range r.hdrs[:k] {
		// The kernel overwrites these lengths with what it filled in.
		h := &r.hdrs[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet4
		h.SetControllen(dropCmsgBytes)
		h.Flags = 0
		r.hdrs[i].Len = 0
	}
	r.k = k
	if err := r.rc.Read(r.readFn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, r.errno
	}
	n := r.n
	for i := range r.hdrs[:n] {
		h := &r.hdrs[i]
		m := &r.metas[i]
		size := int(h.Len)
		buf := r.bufs[i]
		m.data = buf[:min(size, len(buf))]
		m.truncated = size >= len(buf) || h.Hdr.Flags&unix.MSG_TRUNC != 0
		m.srcIP, m.srcPort = 0, 0
		if h.Hdr.Namelen >= unix.SizeofSockaddrInet4 && r.names[i].Family == unix.AF_INET {
			a := r.names[i].Addr
			m.srcIP = binary.BigEndian.Uint32(a[:])
			m.srcPort = netToHost16(r.names[i].Port)
		}
		if cl := int(h.Hdr.Controllen); cl > 0 {
			off := i * dropCmsgBytes
			if d, ok := parseDropCount(r.oob[off : off+min(cl, dropCmsgBytes)]); ok {
				r.drop = d
			}
		}
	}
	return n, nil
}

func (r *mmsgReceiver) meta() []udpMeta { return r.metas }
func (r *mmsgReceiver) drops() uint64   { return r.drop }

// netToHost16 converts a port as stored in a sockaddr (network byte order
// in memory) to its value.
func netToHost16(v uint16) uint16 {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	return binary.BigEndian.Uint16(b[:])
}

// parseDropCount finds the SO_RXQ_OVFL control message in b (the control
// data of one datagram) and returns the socket's cumulative drop count.
// Malformed control data yields false.
func parseDropCount(b []byte) (uint64, bool) {
	const hdr = unix.SizeofCmsghdr
	lenBytes := hdr - 8 // the length field: size_t, before two int32 fields
	dataOff := unix.CmsgLen(0)
	for len(b) >= hdr {
		var l int
		if lenBytes == 8 {
			v := binary.NativeEndian.Uint64(b)
			if v > uint64(len(b)) {
				return 0, false
			}
			l = int(v)
		} else {
			l = int(binary.NativeEndian.Uint32(b))
		}
		if l < dataOff || l > len(b) {
			return 0, false
		}
		level := int32(binary.NativeEndian.Uint32(b[lenBytes:]))
		typ := int32(binary.NativeEndian.Uint32(b[lenBytes+4:]))
		if level == unix.SOL_SOCKET && typ == unix.SO_RXQ_OVFL && l-dataOff >= 4 {
			return uint64(binary.NativeEndian.Uint32(b[dataOff:])), true
		}
		next := unix.CmsgSpace(l - dataOff)
		if next > len(b) {
			return 0, false
		}
		b = b[next:]
	}
	return 0, false
}
