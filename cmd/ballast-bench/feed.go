package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/pcapw"
)

// Feed replay bounds.
const (
	// feedMessagesMax bounds the generated session (it is held in memory).
	feedMessagesMax = 20_000_000
	// feedSymbolsMax bounds the symbols (the handler's books).
	feedSymbolsMax = 256
	// feedPassesMax bounds the replays of the capture.
	feedPassesMax = 100_000
	// feedCaptureStartNs is the capture's first packet time (an arbitrary
	// fixed day, so captures are identical run to run).
	feedCaptureStartNs = 1_763_650_000_000_000_000
)

// feedConfig configures the feed handler's throughput figure.
type feedConfig struct {
	symbols  int
	messages uint64
	seed     uint64
	// duration is how long the capture is replayed (pass after pass);
	// sample is the throughput series' interval.
	duration, sample time.Duration
}

// makeCapture generates an itchgen session and returns it as a pcap capture
// in memory (the format feedhandler/source reads), with its message count.
func makeCapture(c feedConfig) ([]byte, uint64, error) {
	if c.symbols < 1 || c.symbols > feedSymbolsMax || c.messages < itchgen.MinMessages(c.symbols) || c.messages > feedMessagesMax {
		return nil, 0, fmt.Errorf("%w: feed session of %d symbols, %d messages (want 1..%d symbols, up to %d messages)",
			errUsage, c.symbols, c.messages, feedSymbolsMax, feedMessagesMax)
	}
	g, err := itchgen.New(itchgen.Config{SymbolCount: c.symbols, Messages: c.messages, Seed: c.seed})
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	w, err := pcapw.NewWriter(&buf, pcapw.Config{})
	if err != nil {
		return nil, 0, err
	}
	ts := int64(feedCaptureStartNs)
	write := func(pkt []byte, _ moldudp64.Header) error {
		ts += 1000
		return w.WritePacket(ts, pkt)
	}
	pz, err := moldudp64.NewPacketizer(moldudp64.PacketizerConfig{Session: moldudp64.MakeSession("BENCH1")}, write)
	if err != nil {
		return nil, 0, err
	}
	var m itch.Message
	var msg []byte
	var n uint64
	for g.Next(&m) {
		msg = m.Append(msg[:0])
		if _, err := pz.Append(msg); err != nil {
			return nil, 0, err
		}
		n++
	}
	if err := pz.Flush(); err != nil {
		return nil, 0, err
	}
	if err := write(pz.AppendEndOfSession(nil), moldudp64.Header{}); err != nil {
		return nil, 0, err
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), n, nil
}

// runFeed replays the capture through the feed handler (pcap source,
// MoldUDP64, ITCH decoding, order books) pass after pass for c.duration,
// and returns the totals and the messages/s and packets/s series. A fresh
// handler is built for each pass (its books must start empty); building it
// is not timed.
func runFeed(ctx context.Context, c feedConfig, progress func(float64)) (FeedRun, []Series, error) {
	capture, n, err := makeCapture(c)
	if err != nil {
		return FeedRun{}, nil, err
	}
	run := FeedRun{Symbols: c.symbols, SessionMessages: n, CaptureBytes: len(capture)}
	msgs := Series{Name: "messages/s", Unit: "messages/s"}
	pkts := Series{Name: "packets/s", Unit: "packets/s"}
	var busy time.Duration // replay time so far, handler construction excluded
	var lastT time.Duration
	var lastMsgs, lastPkts, doneMsgs, donePkts uint64
	for run.Passes < feedPassesMax && busy < c.duration {
		h, err := feedhandler.New(feedhandler.Config{Books: book.Config{OrdersMax: 1 << 20, BooksMax: feedSymbolsMax, LevelsMax: 256}})
		if err != nil {
			return run, nil, err
		}
		src, err := source.NewPcap(bytes.NewReader(capture), source.PcapOptions{})
		if err != nil {
			return run, nil, err
		}
		start := time.Now()
		sample := func(h *feedhandler.Handler) {
			t := busy + time.Since(start)
			if t-lastT < c.sample {
				return
			}
			cn := h.Counters()
			m, p := doneMsgs+cn.Messages, donePkts+cn.Packets
			dt := (t - lastT).Seconds()
			msgs.Points = append(msgs.Points, Point{T: t.Seconds(), V: float64(m-lastMsgs) / dt})
			pkts.Points = append(pkts.Points, Point{T: t.Seconds(), V: float64(p-lastPkts) / dt})
			lastT, lastMsgs, lastPkts = t, m, p
			progress(min(1, t.Seconds()/c.duration.Seconds()))
		}
		err = feedhandler.Run(ctx, h, src, feedhandler.RunOptions{AfterBatch: sample})
		busy += time.Since(start)
		if err != nil {
			return run, nil, err
		}
		cn := h.Counters()
		if cn.BadMessages != 0 || cn.MalformedPackets != 0 {
			return run, nil, fmt.Errorf("feed replay: %d bad messages, %d malformed packets", cn.BadMessages, cn.MalformedPackets)
		}
		doneMsgs += cn.Messages
		donePkts += cn.Packets
		run.Passes++
	}
	run.Messages, run.Packets, run.Seconds = doneMsgs, donePkts, busy.Seconds()
	if run.Seconds > 0 {
		run.MsgsPerSec = float64(run.Messages) / run.Seconds
		run.PacketsPerSec = float64(run.Packets) / run.Seconds
	}
	return run, []Series{msgs, pkts}, nil
}
