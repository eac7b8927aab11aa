// Package pcapw writes simulated market-data captures: UDP payloads (MoldUDP64
// packets) wrapped in Ethernet/IPv4/UDP frames, stamped with the simulated
// clock, in classic pcap (microsecond or nanosecond) or pcapng format.
//
// Frames are built by hand (FrameBuilder) with a correct IPv4 header checksum
// and total length and, optionally, the UDP checksum; optional 802.1Q tags
// exercise decoders' VLAN handling. Files are written with gopacket's pcapgo.
package pcapw

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Format selects the capture file format.
type Format uint8

// Capture formats.
const (
	// FormatPcap is classic libpcap format (the default).
	FormatPcap Format = iota
	// FormatPcapNG is pcapng with one Ethernet interface at nanosecond
	// resolution.
	FormatPcapNG
)

// Defaults for a zero Config.
var (
	// DefaultSrcIP is the source address of frames when Config.SrcIP is unset.
	DefaultSrcIP = netip.AddrFrom4([4]byte{10, 0, 0, 1})
	// DefaultDstIP is the multicast group frames go to when Config.DstIP is unset.
	DefaultDstIP = netip.AddrFrom4([4]byte{233, 54, 12, 111})
	// DefaultSrcMAC is the source MAC when Config.SrcMAC is unset (locally
	// administered, unicast).
	DefaultSrcMAC = [6]byte{0x02, 0x42, 0x41, 0x4c, 0x53, 0x01}
	// DefaultUnicastDstMAC is the destination MAC for a unicast DstIP when
	// Config.DstMAC is unset (a multicast DstIP maps to its group MAC).
	DefaultUnicastDstMAC = [6]byte{0x02, 0x42, 0x41, 0x4c, 0x53, 0x02}
)

const (
	// DefaultSrcPort is the UDP source port when Config.SrcPort is 0.
	DefaultSrcPort = 26400
	// DefaultDstPort is the UDP destination port when Config.DstPort is 0.
	DefaultDstPort = 26477
	// DefaultTTL is the IPv4 TTL when Config.TTL is 0.
	DefaultTTL = 32
	// snapLenBytes is the capture's snap length: whole frames always fit.
	snapLenBytes = 65535 + ethHeaderBytes + vlanTagBytes
)

// Errors.
var (
	// ErrPayloadTooLarge reports a UDP payload that does not fit one IPv4
	// datagram (more than PayloadBytesMax bytes).
	ErrPayloadTooLarge = errors.New("pcapw: UDP payload too large for one IPv4 datagram")
	// ErrConfig reports an unusable Config; the wrapping error names the field.
	ErrConfig = errors.New("pcapw: bad config")
	// ErrClosed reports a write after Close.
	ErrClosed = errors.New("pcapw: writer closed")
)

// Config sets the frames' addressing and the file format. The zero Config is
// usable: 10.0.0.1:26400 → 233.54.12.111:26477, TTL 32, no VLAN, classic
// pcap with microsecond timestamps, UDP checksum 0.
type Config struct {
	// SrcIP and DstIP are IPv4 addresses; zero values take the defaults.
	SrcIP, DstIP netip.Addr
	// SrcPort and DstPort are UDP ports; 0 takes the defaults.
	SrcPort, DstPort uint16
	// SrcMAC and DstMAC; the zero address takes the defaults (for DstMAC,
	// the group MAC of a multicast DstIP).
	SrcMAC, DstMAC [6]byte
	// TTL is the IPv4 time to live; 0 takes DefaultTTL.
	TTL uint8
	// TOS is the IPv4 type-of-service byte (DSCP/ECN).
	TOS uint8
	// DontFragment sets the IPv4 DF flag.
	DontFragment bool
	// IPIDStart is the IPv4 identification of the first frame; each frame
	// takes the next.
	IPIDStart uint16
	// UDPChecksum computes the UDP checksum; when false it is sent as 0
	// (allowed for IPv4).
	UDPChecksum bool
	// VLAN inserts an 802.1Q tag with VLANID and VLANPriority.
	VLAN bool
	// VLANID is the 12-bit VLAN identifier (0..4094).
	VLANID uint16
	// VLANPriority is the 3-bit priority code point (0..7).
	VLANPriority uint8
	// Format selects classic pcap or pcapng.
	Format Format
	// Nanos writes classic pcap with nanosecond timestamps (magic
	// 0xa1b23c4d). pcapng always has nanosecond resolution.
	Nanos bool
}

func (c Config) withDefaults() (Config, error) {
	if !c.SrcIP.IsValid() {
		c.SrcIP = DefaultSrcIP
	}
	if !c.DstIP.IsValid() {
		c.DstIP = DefaultDstIP
	}
	if !c.SrcIP.Is4() {
		return c, fmt.Errorf("%w: SrcIP %v is not IPv4", ErrConfig, c.SrcIP)
	}
	if !c.DstIP.Is4() {
		return c, fmt.Errorf("%w: DstIP %v is not IPv4", ErrConfig, c.DstIP)
	}
	if c.SrcPort == 0 {
		c.SrcPort = DefaultSrcPort
	}
	if c.DstPort == 0 {
		c.DstPort = DefaultDstPort
	}
	if c.SrcMAC == ([6]byte{}) {
		c.SrcMAC = DefaultSrcMAC
	}
	if c.DstMAC == ([6]byte{}) {
		if c.DstIP.IsMulticast() {
			c.DstMAC = MulticastMAC(c.DstIP)
		} else {
			c.DstMAC = DefaultUnicastDstMAC
		}
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.VLAN && c.VLANID > 4094 {
		return c, fmt.Errorf("%w: VLANID %d out of range 0..4094", ErrConfig, c.VLANID)
	}
	if c.VLANPriority > 7 {
		return c, fmt.Errorf("%w: VLANPriority %d out of range 0..7", ErrConfig, c.VLANPriority)
	}
	if c.Format > FormatPcapNG {
		return c, fmt.Errorf("%w: unknown Format %d", ErrConfig, c.Format)
	}
	return c, nil
}

// packetWriter is what pcapgo's two writers have in common.
type packetWriter interface {
	WritePacket(ci gopacket.CaptureInfo, data []byte) error
}

// Writer writes one capture file. It is not safe for concurrent use.
type Writer struct {
	fb     *FrameBuilder
	bw     *bufio.Writer    // buffers classic pcap (pcapgo writes unbuffered)
	ng     *pcapgo.NgWriter // set for pcapng (buffers itself)
	pw     packetWriter
	frame  []byte
	ci     gopacket.CaptureInfo
	stats  Stats
	closed bool
}

// Stats are a Writer's counters.
type Stats struct {
	// Packets is the number of frames written.
	Packets uint64
	// PayloadBytes is the number of UDP payload bytes written.
	PayloadBytes uint64
	// FrameBytes is the number of frame bytes written (headers included).
	FrameBytes uint64
}

// NewWriter writes the capture's file header to w and returns a Writer for
// its packets. Close (or Flush) must be called before w is closed.
func NewWriter(w io.Writer, cfg Config) (*Writer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fb, err := NewFrameBuilder(cfg)
	if err != nil {
		return nil, err
	}
	out := &Writer{fb: fb, frame: make([]byte, 0, fb.HeaderBytes()+1500)}
	switch cfg.Format {
	case FormatPcapNG:
		intf := pcapgo.NgInterface{
			Name:                "sim0",
			Description:         "ballast simulated feed",
			LinkType:            layers.LinkTypeEthernet,
			TimestampResolution: 9,
			SnapLength:          snapLenBytes,
		}
		opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "ballast-sim"}}
		ng, err := pcapgo.NewNgWriterInterface(w, intf, opts)
		if err != nil {
			return nil, fmt.Errorf("pcapw: pcapng header: %w", err)
		}
		out.ng, out.pw = ng, ng
	default:
		out.bw = bufio.NewWriterSize(w, 1<<16)
		var pw *pcapgo.Writer
		if cfg.Nanos {
			pw = pcapgo.NewWriterNanos(out.bw)
		} else {
			pw = pcapgo.NewWriter(out.bw)
		}
		if err := pw.WriteFileHeader(snapLenBytes, layers.LinkTypeEthernet); err != nil {
			return nil, fmt.Errorf("pcapw: pcap header: %w", err)
		}
		out.pw = pw
	}
	return out, nil
}

// WritePacket writes one frame carrying payload, captured at tsUnixNs
// (nanoseconds since the Unix epoch; classic microsecond pcap truncates it).
func (w *Writer) WritePacket(tsUnixNs int64, payload []byte) error {
	if w.closed {
		return ErrClosed
	}
	frame, err := w.fb.AppendFrame(w.frame[:0], payload)
	if err != nil {
		return err
	}
	w.frame = frame
	w.ci.Timestamp = time.Unix(0, tsUnixNs)
	w.ci.CaptureLength = len(frame)
	w.ci.Length = len(frame)
	if err := w.pw.WritePacket(w.ci, frame); err != nil {
		return fmt.Errorf("pcapw: write packet: %w", err)
	}
	w.stats.Packets++
	w.stats.PayloadBytes += uint64(len(payload))
	w.stats.FrameBytes += uint64(len(frame))
	return nil
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.ng != nil {
		return w.ng.Flush()
	}
	return w.bw.Flush()
}

// Close flushes the writer; further writes fail with ErrClosed. It does not
// close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.Flush()
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats { return w.stats }

// MidnightUnixNs turns a date into the base of the simulated clock: ITCH
// timestamps count nanoseconds since midnight, so a frame's capture time is
// MidnightUnixNs(date) + the ITCH timestamp. Midnight is taken in UTC.
func MidnightUnixNs(year int, month time.Month, day int) int64 {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).UnixNano()
}
