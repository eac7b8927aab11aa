// Package source defines how packets enter the feed handler, and implements
// the packet sources: pcap replay, UDP sockets, AF_PACKET and AF_XDP.
//
// Every source yields UDP payloads (MoldUDP64 packets) in batches through the
// one small Source interface, so the decoder above never knows where bytes
// came from.
package source

import (
	"errors"
	"time"
)

// Packet is one received UDP datagram.
type Packet struct {
	// Data is the UDP payload. It aliases the source's buffers and is valid
	// only until the next ReadBatch call on the same source.
	Data []byte
	// RecvNs is the receive timestamp in nanoseconds: for live sources the
	// local monotonic clock at receive (see Now); for pcap replay the capture
	// timestamp in Unix nanoseconds.
	RecvNs int64
	// SrcIP and DstIP are the IPv4 addresses in network byte order packed
	// into a uint32 (a.b.c.d = a<<24|b<<16|c<<8|d); 0 when unknown.
	SrcIP, DstIP uint32
	// SrcPort and DstPort are the UDP ports.
	SrcPort, DstPort uint16
}

// Source produces UDP payloads in batches.
type Source interface {
	// ReadBatch fills pkts[:n] with up to len(pkts) datagrams and returns n.
	// It blocks until at least one datagram is available, the source's read
	// timeout expires (n == 0, err == nil), or the source ends (io.EOF for a
	// finished replay) or fails. Data slices stay valid until the next call.
	ReadBatch(pkts []Packet) (n int, err error)
	// Stats returns the source's counters.
	Stats() Stats
	// Close releases the source's sockets, rings and memory.
	Close() error
}

// Stats are a source's counters. Sources fill the ones that apply.
type Stats struct {
	// Packets is the number of UDP datagrams delivered by ReadBatch.
	Packets uint64
	// Bytes is the number of UDP payload bytes delivered.
	Bytes uint64
	// Skipped counts frames that were not IPv4/UDP (or not the feed's port).
	Skipped uint64
	// Malformed counts frames that could not be decoded.
	Malformed uint64
	// Dropped counts packets the kernel or ring reported as lost.
	Dropped uint64
}

// Sentinel errors shared by the sources.
var (
	// ErrUnsupported reports that the kernel or build refuses a source
	// (no AF_XDP, no BPF, a cgo-only source in a CGO_ENABLED=0 build).
	ErrUnsupported = errors.New("source: unsupported on this system")
	// ErrClosed reports a read on a closed source.
	ErrClosed = errors.New("source: closed")
)

var epoch = time.Now()

// Now returns the local receive clock: monotonic nanoseconds since process
// start. Live sources stamp packets with it; consumers compare against it.
func Now() int64 { return int64(time.Since(epoch)) }
