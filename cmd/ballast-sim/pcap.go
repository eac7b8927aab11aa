package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/pcapw"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

const pcapSynopsis = `Usage: ballast-sim pcap --out FILE (--seconds N | --messages M) [flags]

Writes a synthetic ITCH 5.0 session, carried in MoldUDP64 packets inside
Ethernet/IPv4/UDP frames, to a capture file, and prints a JSON summary:
packets and messages in the file, by_type, heartbeats, the gaps left by
deliberately dropped packets, and the generator's reference books (the
books a correct feed handler builds from a capture without drops).

Packets close when full or when the next message is more than --window-us
of simulated time after the packet's first; a heartbeat marks each idle
simulated second; an end-of-session packet ends the file. Capture times are
--date at midnight UTC plus the ITCH timestamps, plus the outages so far.

With --events SCRIPT the session carries scripted market events (see 'send'
and docs/simulator.md); an outage leaves a silent stretch of its length in
the capture times (no packets, no heartbeats), after which the feed resumes
with the next sequence number. Volatility spikes change only the generated
prices here: no appliance is driven.

Flags:
`

// pcapOpts are the pcap subcommand's flags.
type pcapOpts struct {
	gen      genFlags
	out      string
	rate     float64
	src, dst string
	vlan     bool
	vlanID   uint
	nanos    bool
	pcapng   bool
	checksum bool
	date     string
	windowUs float64
}

func pcapFlags() (*flag.FlagSet, *pcapOpts) {
	o := &pcapOpts{}
	fs := flag.NewFlagSet("pcap", flag.ContinueOnError)
	o.gen.register(fs)
	fs.StringVar(&o.out, "out", "", "capture file to write (required)")
	fs.Float64Var(&o.gen.seconds, "seconds", 0, "simulated seconds of continuous trading")
	fs.Float64Var(&o.rate, "rate", itchgen.DefaultRate, "mean ITCH messages per simulated second")
	fs.StringVar(&o.src, "src", "10.0.0.1:26400", "source IPv4 address:port of the frames")
	fs.StringVar(&o.dst, "dst", "233.54.12.111:26477", "destination IPv4 address:port (multicast or unicast)")
	fs.BoolVar(&o.vlan, "vlan", false, "tag frames with an 802.1Q VLAN header")
	fs.UintVar(&o.vlanID, "vlan-id", 100, "VLAN identifier with --vlan (0..4094)")
	fs.BoolVar(&o.nanos, "nanos", false, "classic pcap with nanosecond timestamps (default microseconds)")
	fs.BoolVar(&o.pcapng, "pcapng", false, "write pcapng instead of classic pcap")
	fs.BoolVar(&o.checksum, "udp-checksum", true, "compute UDP checksums (false writes 0)")
	fs.StringVar(&o.date, "date", "2024-01-02", "trading date (YYYY-MM-DD) for capture timestamps")
	fs.Float64Var(&o.windowUs, "window-us", 50, "simulated microseconds a packet stays open for more messages")
	fs.Usage = usageFunc(fs, pcapSynopsis)
	return fs, o
}

// pcapSummary is the pcap subcommand's JSON output.
type pcapSummary struct {
	File            string              `json:"file"`
	Format          string              `json:"format"`
	Session         string              `json:"session"`
	Seed            uint64              `json:"seed"`
	Symbols         int                 `json:"symbols"`
	Packets         uint64              `json:"packets"`
	Messages        uint64              `json:"messages"`
	ByType          map[string]uint64   `json:"by_type"`
	Heartbeats      uint64              `json:"heartbeats"`
	EndOfSession    bool                `json:"end_of_session"`
	Generated       uint64              `json:"generated_messages"`
	DroppedPackets  uint64              `json:"dropped_packets"`
	DroppedMessages uint64              `json:"dropped_messages"`
	Gaps            []gapJSON           `json:"gaps"`
	GapsOmitted     uint64              `json:"gaps_omitted,omitempty"`
	Halts           uint64              `json:"halts"`
	Events          []firedJSON         `json:"events,omitempty"`
	Silences        uint64              `json:"silences,omitempty"`
	FirstTimestamp  uint64              `json:"first_timestamp_ns"`
	LastTimestamp   uint64              `json:"last_timestamp_ns"`
	Bytes           uint64              `json:"bytes"`
	Books           map[string]bookJSON `json:"books"`
}

func runPcap(args []string, stdout, stderr io.Writer) error {
	fs, o := pcapFlags()
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if o.out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if o.gen.seconds == 0 && o.gen.messages == 0 {
		return fmt.Errorf("%w: give --seconds or --messages", errUsage)
	}
	cfg, err := o.gen.config(o.rate)
	if err != nil {
		return err
	}
	cfg.DurationNs = uint64(o.gen.seconds * 1e9)
	drops, err := parseDropList(o.gen.dropList)
	if err != nil {
		return err
	}
	wcfg, err := o.writerConfig()
	if err != nil {
		return err
	}
	day, err := time.Parse("2006-01-02", o.date)
	if err != nil {
		return fmt.Errorf("%w: --date %q: %v", errUsage, o.date, err)
	}
	if !(o.windowUs >= 0 && o.windowUs <= 1e6) {
		return fmt.Errorf("%w: --window-us %v outside 0..1000000", errUsage, o.windowUs)
	}
	g, err := itchgen.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dropper, err := udpsend.NewDropper(o.gen.dropRate, drops, o.gen.seed)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	c, err := newCapture(f, wcfg, moldudp64.MakeSession(o.gen.session), o.gen.payload, dropper,
		pcapw.MidnightUnixNs(day.Year(), day.Month(), day.Day()), uint64(o.windowUs*1e3))
	if err == nil {
		err = c.run(g)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	format := "pcap"
	if o.pcapng {
		format = "pcapng"
	}
	sum := pcapSummary{File: o.out, Format: format, Session: o.gen.session, Seed: o.gen.seed,
		Symbols: len(g.Symbols()), Packets: c.packets, Messages: c.messages, ByType: byTypeJSON(&c.byType),
		Heartbeats: c.heartbeats, EndOfSession: true, Generated: g.Stats().Messages,
		DroppedPackets: dropper.Dropped(), DroppedMessages: c.droppedMsgs, Gaps: c.gaps.sorted(),
		GapsOmitted: c.gaps.omitted, Halts: g.Stats().Halts, Events: c.events.fired, Silences: c.silences,
		FirstTimestamp: c.firstTs, LastTimestamp: c.lastTs,
		Bytes: c.w.Stats().FrameBytes, Books: booksJSON(g)}
	return writeJSON(stdout, sum)
}

func (o *pcapOpts) writerConfig() (pcapw.Config, error) {
	var c pcapw.Config
	src, err := netip.ParseAddrPort(o.src)
	if err != nil || !src.Addr().Is4() {
		return c, fmt.Errorf("%w: --src %q: want IPv4 address:port", errUsage, o.src)
	}
	dst, err := netip.ParseAddrPort(o.dst)
	if err != nil || !dst.Addr().Is4() || dst.Port() == 0 {
		return c, fmt.Errorf("%w: --dst %q: want IPv4 address:port", errUsage, o.dst)
	}
	if o.vlanID > 4094 {
		return c, fmt.Errorf("%w: --vlan-id %d outside 0..4094", errUsage, o.vlanID)
	}
	c = pcapw.Config{SrcIP: src.Addr(), SrcPort: src.Port(), DstIP: dst.Addr(), DstPort: dst.Port(),
		UDPChecksum: o.checksum, VLAN: o.vlan, VLANID: uint16(o.vlanID), Nanos: o.nanos}
	if o.pcapng {
		c.Format = pcapw.FormatPcapNG
	}
	return c, nil
}

// heartbeatNs is the idle time after which a heartbeat is written.
const heartbeatNs = 1_000_000_000

// capture packetizes the generator's messages by simulated time and writes
// the packets to a capture file.
type capture struct {
	w        *pcapw.Writer
	pk       *moldudp64.Packetizer
	dropper  *udpsend.Dropper
	gaps     *gapList
	baseNs   int64
	windowNs uint64
	ctl      []byte
	msg      []byte
	it       moldudp64.Iterator

	shiftNs  int64 // capture time added by the outages so far
	events   eventLog
	silences uint64

	pktFirstTs uint64 // timestamp of the open packet's first message
	lastMsgTs  uint64 // timestamp of the latest message appended
	lastTxTs   uint64 // simulated time of the latest packet written or dropped

	packets, messages, heartbeats, droppedMsgs uint64
	firstTs, lastTs                            uint64
	byType                                     [256]uint64
}

func newCapture(f io.Writer, wcfg pcapw.Config, session moldudp64.Session, payload int,
	dropper *udpsend.Dropper, baseNs int64, windowNs uint64) (*capture, error) {
	w, err := pcapw.NewWriter(f, wcfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	c := &capture{w: w, dropper: dropper, gaps: newGapList(session), baseNs: baseNs, windowNs: windowNs}
	c.pk, err = moldudp64.NewPacketizer(moldudp64.PacketizerConfig{Session: session, PayloadBytesMax: payload}, c.emit)
	if err != nil {
		return nil, fmt.Errorf("%w: --payload-bytes: %v", errUsage, err)
	}
	return c, nil
}

// emit writes (or deliberately drops) one data packet, stamped with the
// time of its last message.
func (c *capture) emit(pkt []byte, h moldudp64.Header) error {
	c.lastTxTs = c.lastMsgTs
	if c.dropper.Next() {
		c.droppedMsgs += uint64(h.Count)
		c.gaps.add(h.Seq, h.Seq+uint64(h.Count)-1)
		return nil
	}
	if _, err := c.it.Reset(pkt); err != nil {
		panic("ballast-sim: packetizer built a malformed packet: " + err.Error())
	}
	for _, msg, ok := c.it.Next(); ok; _, msg, ok = c.it.Next() {
		c.byType[msg[0]]++
	}
	c.messages += uint64(h.Count)
	return c.write(c.lastMsgTs, pkt)
}

func (c *capture) write(ts uint64, pkt []byte) error {
	c.packets++
	if c.packets == 1 {
		c.firstTs = ts
	}
	c.lastTs = ts
	return c.w.WritePacket(c.baseNs+int64(ts)+c.shiftNs, pkt)
}

// heartbeatsUntil writes a heartbeat for each idle second before ts.
func (c *capture) heartbeatsUntil(ts uint64) error {
	for c.packets+c.dropper.Dropped() > 0 && ts-c.lastTxTs > heartbeatNs {
		c.lastTxTs += heartbeatNs
		c.ctl = c.pk.AppendHeartbeat(c.ctl[:0])
		c.heartbeats++
		if err := c.write(c.lastTxTs, c.ctl); err != nil {
			return err
		}
	}
	return nil
}

func (c *capture) run(g *itchgen.Generator) error {
	var m itch.Message
	for g.Next(&m) {
		ts := m.Timestamp
		for _, f := range g.TakeFired() {
			c.events.add(f)
			if f.Event.Kind == itchgen.EventOutage {
				// What was sent before the outage goes out before it;
				// the rest of the capture moves by its length.
				if err := c.pk.Flush(); err != nil {
					return err
				}
				c.shiftNs += int64(f.Event.DurationNs)
				c.silences++
			}
		}
		if c.pk.Pending() > 0 && ts-c.pktFirstTs > c.windowNs {
			if err := c.pk.Flush(); err != nil {
				return err
			}
		}
		if c.pk.Pending() == 0 {
			if err := c.heartbeatsUntil(ts); err != nil {
				return err
			}
		}
		c.msg = m.Append(c.msg[:0])
		if _, err := c.pk.Append(c.msg); err != nil {
			return err
		}
		if c.pk.Pending() == 1 {
			c.pktFirstTs = ts
		}
		c.lastMsgTs = ts
	}
	if err := c.pk.Flush(); err != nil {
		return err
	}
	c.ctl = c.pk.AppendEndOfSession(c.ctl[:0])
	if err := c.write(c.lastMsgTs+1000, c.ctl); err != nil {
		return err
	}
	return c.w.Close()
}
