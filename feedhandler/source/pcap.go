package source

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/ballast-risk/ballast/feedhandler/frame"
)

// Pcap replay bounds.
const (
	// PcapFrameBytesMax is the longest captured frame replayed (libpcap's
	// maximum snap length). Longer records are malformed.
	PcapFrameBytesMax = 262144
	// pcapArenaBytes holds the payloads one ReadBatch returns; a batch ends
	// early when the next payload does not fit.
	pcapArenaBytes = 1 << 20
	// pcapReadBufferBytes is the read buffer over the capture file.
	pcapReadBufferBytes = 1 << 20
	// pcapngBlockBytesMax bounds one pcapng block (they are skipped, not
	// buffered, so the bound only rejects nonsense lengths).
	pcapngBlockBytesMax = 64 << 20
)

// Errors of the pcap replay.
var (
	// ErrPcapFormat reports input that is neither a pcap nor a pcapng
	// capture (after gzip decompression, if gzipped).
	ErrPcapFormat = errors.New("source: not a pcap or pcapng capture")
	// ErrPcapCorrupt reports a capture whose framing broke mid-file (a
	// record or block header with impossible lengths, a truncated tail).
	// The replay ends there; see Pcap.Err.
	ErrPcapCorrupt = errors.New("source: corrupt capture")
)

// Capture file magic numbers, as read little-endian from the first 4 bytes.
const (
	magicPcapMicros   = 0xa1b2c3d4
	magicPcapNanos    = 0xa1b23c4d
	magicPcapMicrosBE = 0xd4c3b2a1
	magicPcapNanosBE  = 0x4d3cb2a1
	magicPcapng       = 0x0a0d0d0a
)

// PcapOptions configures a pcap replay.
type PcapOptions struct {
	// DstPort keeps only UDP datagrams to this destination port; 0 keeps
	// every port. Other datagrams count as Skipped.
	DstPort uint16
}

// Pcap replays a capture file: classic pcap (microsecond or nanosecond
// timestamps, either byte order) or pcapng, optionally gzipped, through
// github.com/google/gopacket/pcapgo. Frames are decoded to IPv4/UDP with
// package frame. Frames of other traffic count as Skipped (IPv4 fragments
// too: they are not reassembled), broken frames as Malformed; neither stops
// the replay. A capture whose framing breaks (an impossible record length,
// a truncated tail) ends the replay there: the broken record counts as
// Malformed and ReadBatch returns io.EOF, with the reason in Err.
//
// Packet.RecvNs is the capture timestamp in Unix nanoseconds.
//
// A Pcap is not safe for concurrent use, except Stats.
type Pcap struct {
	file   *os.File // nil when reading from a caller's io.Reader
	format string
	next   func() ([]byte, gopacket.CaptureInfo, error)
	link   frame.LinkType // classic pcap: the file's link type
	ng     *pcapgo.NgReader
	guard  *ngGuard
	opts   PcapOptions

	// ngLink caches the last pcapng link type mapping.
	ngLinkRaw layers.LinkType
	ngLink    frame.LinkType
	ngLinkErr error

	arena payloadArena
	udp   frame.UDP
	done  bool
	err   error
	stats statsCounters
}

// statsCounters are the counters shared by the frame-decoding sources.
type statsCounters struct {
	packets, bytes, skipped, malformed, dropped atomic.Uint64
}

func (c *statsCounters) snapshot() Stats {
	return Stats{
		Packets:   c.packets.Load(),
		Bytes:     c.bytes.Load(),
		Skipped:   c.skipped.Load(),
		Malformed: c.malformed.Load(),
		Dropped:   c.dropped.Load(),
	}
}

// OpenPcap opens a capture file for replay.
func OpenPcap(path string, opts PcapOptions) (*Pcap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("source: open capture: %w", err)
	}
	p, err := NewPcap(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("source: %s: %w", path, err)
	}
	p.file = f
	return p, nil
}

// NewPcap replays a capture read from r. Close does not close r.
func NewPcap(r io.Reader, opts PcapOptions) (*Pcap, error) {
	br := bufio.NewReaderSize(r, pcapReadBufferBytes)
	magic, err := peekMagic(br)
	if err != nil {
		return nil, err
	}
	if magic&0xffff == 0x8b1f { // gzip: 1f 8b
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrPcapFormat, err)
		}
		br = bufio.NewReaderSize(zr, pcapReadBufferBytes)
		if magic, err = peekMagic(br); err != nil {
			return nil, err
		}
	}
	p := &Pcap{opts: opts, arena: newPayloadArena(pcapArenaBytes)}
	switch magic {
	case magicPcapMicros, magicPcapNanos, magicPcapMicrosBE, magicPcapNanosBE:
		pr, err := newClassicReader(br)
		if err != nil {
			return nil, err
		}
		if p.link, err = frame.LinkTypeFromPcap(uint32(pr.LinkType())); err != nil {
			return nil, fmt.Errorf("source: pcap link type %d: %w", pr.LinkType(), err)
		}
		// Bound the reader's one packet buffer whatever the header claims;
		// longer records are reported, not allocated.
		pr.SetSnaplen(PcapFrameBytesMax)
		p.format = "pcap"
		p.next = pr.ZeroCopyReadPacketData
	case magicPcapng:
		p.guard = &ngGuard{r: br}
		ng, err := newNgReader(p.guard)
		if err != nil {
			return nil, err
		}
		p.format = "pcapng"
		p.ng = ng
		p.next = ng.ZeroCopyReadPacketData
	default:
		return nil, fmt.Errorf("%w: magic %08x", ErrPcapFormat, magic)
	}
	return p, nil
}

func peekMagic(br *bufio.Reader) (uint32, error) {
	b, err := br.Peek(4)
	if err != nil {
		return 0, fmt.Errorf("%w: %d-byte input", ErrPcapFormat, len(b))
	}
	return binary.LittleEndian.Uint32(b), nil
}

// newClassicReader wraps pcapgo.NewReader, turning a panic on hostile
// input into an error.
func newClassicReader(r io.Reader) (pr *pcapgo.Reader, err error) {
	defer func() {
		if v := recover(); v != nil {
			pr, err = nil, fmt.Errorf("%w: pcap header: %v", ErrPcapFormat, v)
		}
	}()
	pr, err = pcapgo.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: pcap header: %v", ErrPcapFormat, err)
	}
	return pr, nil
}

// newNgReader wraps pcapgo.NewNgReader, turning a panic on hostile input
// into an error.
func newNgReader(r io.Reader) (ng *pcapgo.NgReader, err error) {
	defer func() {
		if v := recover(); v != nil {
			ng, err = nil, fmt.Errorf("%w: pcapng header: %v", ErrPcapFormat, v)
		}
	}()
	// Mixed link types: every interface's packets are delivered with
	// their own link type, rather than dropping the ones that differ from
	// the first interface without a trace.
	ng, err = pcapgo.NewNgReader(r, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	if err != nil {
		return nil, fmt.Errorf("%w: pcapng header: %v", ErrPcapFormat, err)
	}
	return ng, nil
}

// Format returns "pcap" or "pcapng".
func (p *Pcap) Format() string { return p.format }

// Err returns why the replay ended early (wrapping ErrPcapCorrupt), or nil
// while it runs and after a clean end of file.
func (p *Pcap) Err() error { return p.err }

// Stats returns the counters. Safe from any goroutine.
func (p *Pcap) Stats() Stats { return p.stats.snapshot() }

// Close closes the file OpenPcap opened. Later ReadBatch calls return
// ErrClosed.
func (p *Pcap) Close() error {
	p.done = true
	p.next = nil
	if p.file == nil {
		return nil
	}
	f := p.file
	p.file = nil
	return f.Close()
}

// ReadBatch fills pkts with the next UDP datagrams of the capture. It
// returns io.EOF once the capture is exhausted (never together with
// datagrams). It never blocks on anything but the file.
func (p *Pcap) ReadBatch(pkts []Packet) (int, error) {
	if p.next == nil {
		return 0, ErrClosed
	}
	if len(pkts) == 0 {
		return 0, nil
	}
	n := p.arena.reset(pkts)
	for n < len(pkts) && !p.done {
		pk, ok := p.readNext()
		if !ok {
			break
		}
		if !p.arena.add(&pkts[n], pk) {
			break
		}
		n++
	}
	if n == 0 {
		return 0, io.EOF
	}
	var bytes uint64
	for i := range pkts[:n] {
		bytes += uint64(len(pkts[i].Data))
	}
	p.stats.packets.Add(uint64(n))
	p.stats.bytes.Add(bytes)
	return n, nil
}

// readNext reads records until one decodes to a wanted datagram, whose
// payload aliases the reader's buffer. It returns false at the end of the
// capture.
func (p *Pcap) readNext() (Packet, bool) {
	for {
		data, ci, err := p.read()
		if err != nil {
			p.done = true
			if !errors.Is(err, io.EOF) || (p.guard != nil && p.guard.midBlock()) {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				p.stats.malformed.Add(1)
				p.err = fmt.Errorf("%w: %v", ErrPcapCorrupt, err)
			}
			return Packet{}, false
		}
		link := p.link
		if p.ng != nil {
			var lerr error
			if link, lerr = p.ngLinkType(ci); lerr != nil {
				p.stats.skipped.Add(1)
				continue
			}
		}
		if err := frame.DecodeUDP(link, data, &p.udp); err != nil {
			if errors.Is(err, frame.ErrMalformed) {
				p.stats.malformed.Add(1)
			} else {
				p.stats.skipped.Add(1)
			}
			continue
		}
		if p.opts.DstPort != 0 && p.udp.DstPort != p.opts.DstPort {
			p.stats.skipped.Add(1)
			continue
		}
		return Packet{
			Data:    p.udp.Payload,
			RecvNs:  ci.Timestamp.UnixNano(),
			SrcIP:   p.udp.SrcIP,
			DstIP:   p.udp.DstIP,
			SrcPort: p.udp.SrcPort,
			DstPort: p.udp.DstPort,
		}, true
	}
}

// read returns the next record, turning a panic inside pcapgo on hostile
// input into an error.
func (p *Pcap) read() (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if v := recover(); v != nil {
			data, err = nil, fmt.Errorf("capture reader: %v", v)
		}
	}()
	return p.next()
}

// ngLinkType maps a pcapng packet's interface link type, caching the last
// mapping (captures rarely mix link types).
func (p *Pcap) ngLinkType(ci gopacket.CaptureInfo) (frame.LinkType, error) {
	if len(ci.AncillaryData) == 0 {
		return 0, frame.ErrLinkType
	}
	raw, ok := ci.AncillaryData[0].(layers.LinkType)
	if !ok {
		return 0, frame.ErrLinkType
	}
	if raw != p.ngLinkRaw || (p.ngLink == 0 && p.ngLinkErr == nil) {
		p.ngLinkRaw = raw
		p.ngLink, p.ngLinkErr = frame.LinkTypeFromPcap(uint32(raw))
	}
	return p.ngLink, p.ngLinkErr
}
