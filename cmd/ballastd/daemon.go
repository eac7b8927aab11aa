package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/rerequest"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

const (
	// ringSlots is the tick ring's size: at least one slot per possible
	// book (65,536 stock locates), so that one flush after the consumer
	// has emptied the ring publishes every deferred tick.
	ringSlots = 1 << 16
	// locatesMax is the number of distinct ITCH stock locates.
	locatesMax = 1 << 16
	// feedReadTimeout bounds a receive call, so the handler's
	// retransmission time-outs and the stop request are served while the
	// feed is idle.
	feedReadTimeout = 5 * time.Millisecond
	// recvBufferBytes is the feed socket's requested SO_RCVBUF.
	recvBufferBytes = 8 << 20
	// closeTimeout bounds the simulated exchange's closing sequence at
	// shutdown (at low message rates it takes a while); past it the
	// session is cut short after the next message.
	closeTimeout = 2 * time.Second
	// cutTimeout bounds the wait for that next message (one token interval
	// of the sender's pacing); past it the sender is stopped outright.
	cutTimeout = time.Second
	// drainTimeout bounds the wait for the feed handler to receive (or
	// recover) every message of the ended session.
	drainTimeout = 3 * time.Second
	// marksShownMax is the number of marks in the statistics line.
	marksShownMax = 4
	// openGapsMax bounds the missing ranges the feed handler recovers at
	// once. The sequencer's default (64) is for a quiet feed; a busy one
	// with losses, or a re-request server that stalls for a moment, opens
	// more, and a range pushed out by the bound is lost.
	openGapsMax = 1024
)

// daemon is one running ballastd: the feed handler on its UDP source, the
// tick consumer and, with --demo, the simulated exchange.
type daemon struct {
	opts  options
	log   *slog.Logger
	src   *source.UDP
	ticks *ring.Ring[ring.Tick]
	feed  *feedLoop
	cons  *consumer
	syms  *symbolDir
	x     *exchange // nil without --demo
	// accel is the risk backend, checked at boot and closed by the
	// caller after the summary.
	accel *accelerator
	// app is the risk engine, its durable state and the verdict servers.
	app *appliance
	// stats is the statistics line's period (a reload may change it).
	stats *period
	start time.Time
}

// riskBackend is the backend the engine's risk epochs are submitted to (a
// later issue wires the engine's epochs to it): cpu, or the --accel device
// behind accel/failover with cpu as the fallback.
func (d *daemon) riskBackend() accel.Backend { return d.accel.backend }

// startDaemon opens the sockets and builds the pipeline around the
// accelerator acc (which the caller keeps and closes); d.run starts it.
func startDaemon(o options, log *slog.Logger, acc *accelerator) (*daemon, error) {
	d := &daemon{opts: o, log: log, accel: acc, stats: newPeriod(o.statsEvery)}
	fa := o.feedAddr
	src, err := source.ListenUDP(source.UDPConfig{Addr: fa.Addr().AsSlice(), Port: fa.Port(),
		RecvBufferBytes: recvBufferBytes, BatchMax: feedhandler.BatchMax, ReadTimeout: feedReadTimeout})
	if err != nil {
		return nil, fmt.Errorf("feed socket %s: %w", fa, err)
	}
	d.src = src
	listen := src.LocalAddr().AddrPort()
	listen = netip.AddrPortFrom(listen.Addr().Unmap(), listen.Port())

	instruments := locatesMax
	books := book.DefaultConfig()
	seqCfg := moldudp64.Config{OpenGapsMax: openGapsMax}
	server := o.rerequestAddr
	if o.demo {
		// Where the exchange sends: the feed's address, or loopback when
		// the feed listens on every address; its re-request server
		// listens on the same host.
		host := listen.Addr()
		if host.IsUnspecified() {
			host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		d.x, err = newExchange(exchangeConfig{symbols: o.symbols, seed: o.seed, msgRate: o.msgRate,
			dropRate: o.dropRate, events: o.events, feed: netip.AddrPortFrom(host, listen.Port()),
			server: netip.AddrPortFrom(host, 0).String()})
		if err != nil {
			src.Close()
			return nil, err
		}
		server = d.x.server.Addr()
		// The universe is known: size the books for it (the defaults
		// are for a whole exchange; the generator never holds more than
		// DefaultBookOrdersMax live orders on a book) and expect the
		// session from its first message.
		instruments = o.symbols + 1
		books.BooksMax = o.symbols
		books.OrdersMax = o.symbols * itchgen.DefaultBookOrdersMax
		seqCfg.StartSeq = 1
	}
	if server.IsValid() {
		// Requests leave from the feed socket, so the answers come back
		// to it and through the source like the live packets.
		seqCfg.Requester = moldudp64.NewUDPRequester(src.Conn(), server)
	}
	if err := d.build(books, seqCfg, instruments); err != nil {
		d.close()
		return nil, err
	}
	app, err := openAppliance(o.app, o.demo, acc.backend, log)
	if err != nil {
		d.close()
		return nil, err
	}
	d.attachAppliance(app)

	rr := "none (gaps are reported lost)"
	if server.IsValid() {
		rr = server.String()
	}
	log.Info("feed handler listening", "feed", listen.String(), "rcvbuf_bytes", src.RecvBufferBytes(),
		"rerequest_server", rr, "ring_slots", d.ticks.Cap())
	if d.x != nil {
		log.Info("re-request server listening", "addr", d.x.server.Addr().String(), "session", demoSession)
		rate := "unpaced"
		if o.msgRate > 0 {
			rate = fmt.Sprintf("%g/s", o.msgRate)
		}
		log.Info("simulated exchange sending", "to", d.x.conn.RemoteAddr().String(),
			"from", d.x.conn.LocalAddr().String(), "session", demoSession, "symbols", o.symbols,
			"seed", o.seed, "msg_rate", rate, "drop_rate", o.dropRate)
	}
	return d, nil
}

// build creates the tick ring, the feed handler and the consumer.
func (d *daemon) build(books book.Config, seq moldudp64.Config, instruments int) error {
	var err error
	if d.ticks, err = ring.New[ring.Tick](ringSlots, nil); err != nil {
		return err
	}
	h, err := feedhandler.New(feedhandler.Config{Books: books, Sequencer: seq, Ticks: d.ticks})
	if err != nil {
		return err
	}
	d.syms = newSymbolDir(instruments)
	d.feed = &feedLoop{h: h, src: d.src, ticks: d.ticks, syms: d.syms}
	d.cons = newConsumer(d.ticks, instruments, source.Now)
	return nil
}

// close releases the sockets.
func (d *daemon) close() {
	if d.x != nil {
		d.x.close()
	}
	d.src.Close()
}

// run runs the pipeline until ctx is done, --duration passes or a component
// fails, then shuts down in order: the exchange closes its session, the
// feed handler drains it, the consumer drains the ring. It returns the final
// summary and the first runtime failure.
func (d *daemon) run(ctx context.Context) (summary, error) {
	defer d.close()
	d.start = time.Now()
	errc := make(chan error, 4) // one per goroutine that can fail
	if err := d.app.start(errc); err != nil {
		d.app.abort()
		return d.summary("start-up failed", 0), err
	}

	feedCtx, cancelFeed := context.WithCancel(context.Background())
	defer cancelFeed()
	d.feed.cancel = cancelFeed
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		if err := d.feed.run(feedCtx); err != nil {
			errc <- fmt.Errorf("feed: %w", err)
		}
	}()
	consDone := make(chan struct{})
	go func() {
		defer close(consDone)
		d.cons.Run()
	}()

	var bg sync.WaitGroup // the exchange's goroutines
	sendCtx, cancelSend := context.WithCancel(context.Background())
	defer cancelSend()
	sessionEnded := make(chan struct{})
	var sent uint64
	if d.x != nil {
		bg.Add(2)
		go func() {
			defer bg.Done()
			if err := d.x.server.Serve(context.Background()); err != nil {
				errc <- fmt.Errorf("re-request server: %w", err)
			}
		}()
		go func() {
			defer bg.Done()
			last, err := d.x.send(sendCtx)
			sent = last
			if last == 0 {
				cancelFeed() // nothing to drain
			} else {
				d.feed.target.Store(last)
			}
			close(sessionEnded)
			if err == nil {
				err = d.x.repeatEnd(feedDone)
			}
			if err != nil {
				errc <- fmt.Errorf("simulated exchange: %w", err)
			}
		}()
	}
	repCtx, stopReports := context.WithCancel(context.Background())
	repDone := make(chan struct{})
	go func() {
		defer close(repDone)
		d.report(repCtx)
	}()

	var durC <-chan time.Time
	if d.opts.duration > 0 {
		t := time.NewTimer(d.opts.duration)
		defer t.Stop()
		durC = t.C
	}
	var runErr error
	reason := "duration"
	select {
	case <-ctx.Done():
		reason = context.Cause(ctx).Error()
	case <-durC:
	case runErr = <-errc:
		reason = "error"
	}
	d.log.Info("stopping", "reason", reason)

	drainStart := time.Now()
	if d.x != nil {
		d.endSession(sessionEnded, cancelSend)
	} else {
		cancelFeed()
	}
	select {
	case <-feedDone:
	case <-time.After(drainTimeout):
		d.log.Warn("feed drain timed out", "after", drainTimeout)
		cancelFeed()
		<-feedDone
	}
	<-consDone
	if err := d.app.shutdown(); err != nil {
		d.log.Error("appliance shutdown", "err", err)
		if runErr == nil {
			runErr = err
		}
	}
	if d.x != nil {
		d.x.server.Close()
	}
	bg.Wait()
	stopReports()
	<-repDone
	if runErr == nil {
		select {
		case runErr = <-errc:
		default:
		}
	}
	sum := d.summary(reason, time.Since(drainStart))
	if d.x != nil {
		sum.exchange.sessionMessages = sent
	}
	return sum, runErr
}

// endSession asks the simulated exchange to close its session and waits
// until the sender has sent the end of session (sessionEnded): the closing
// sequence, cut short past closeTimeout, and the sender stopped outright
// (cancelSend) past cutTimeout more.
func (d *daemon) endSession(sessionEnded <-chan struct{}, cancelSend context.CancelFunc) {
	d.x.finish.Store(true)
	select {
	case <-sessionEnded:
		return
	case <-time.After(closeTimeout):
	}
	d.log.Warn("closing sequence cut short", "after", closeTimeout)
	d.x.cut.Store(true)
	select {
	case <-sessionEnded:
	case <-time.After(cutTimeout):
		cancelSend()
		<-sessionEnded
	}
}

// report logs the statistics line every --stats-every until ctx is done.
func (d *daemon) report(ctx context.Context) {
	t := time.NewTicker(d.stats.get())
	defer t.Stop()
	prev := d.feed.snapshot()
	prevTicks, prevAt := uint64(0), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.stats.changed:
			t.Reset(d.stats.get())
			continue
		case <-t.C:
		}
		s := d.feed.snapshot()
		c := d.cons.stats(marksShownMax, false)
		acc := d.accel.observe(d.log)
		now := time.Now()
		dt := s.atNs - prev.atNs
		d.log.Info("feed",
			"pkts_per_s", perSecond(s.counters.Packets-prev.counters.Packets, dt),
			"msgs_per_s", perSecond(s.counters.Messages-prev.counters.Messages, dt),
			"gaps_opened", s.seq.GapsOpened, "gaps_recovered", s.seq.GapsRecovered, "gaps_lost", s.seq.GapsLost,
			"stale", s.stale, "stale_marks", c.staleMarks,
			"ring_depth", d.ticks.Len(),
			"ticks", c.ticks, "ticks_per_s", perSecond(c.ticks-prevTicks, int64(now.Sub(prevAt))),
			"lat_p50", time.Duration(c.p50), "lat_p99", time.Duration(c.p99), "lat_max", time.Duration(c.max),
			"marks", d.formatMarks(c.shown),
			slog.Group("accel", acc.attrs()...))
		prev, prevTicks, prevAt = s, c.ticks, now
	}
}

// formatMarks renders marks as "SYM bid/ask last L[ stale][ halted]; ...".
func (d *daemon) formatMarks(ms []shownMark) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("; ")
		}
		name := d.syms.name(m.instrument)
		if name == "" {
			name = fmt.Sprintf("#%d", m.instrument)
		}
		fmt.Fprintf(&b, "%s %s/%s last %s", name, formatPrice(m.bid), formatPrice(m.ask), formatPrice(m.last))
		if m.stale() {
			b.WriteString(" stale")
		}
		if m.halted() {
			b.WriteString(" halted")
		}
	}
	return b.String()
}

// summary is the final report.
type summary struct {
	reason    string
	elapsed   time.Duration // since start
	shutdown  time.Duration // from the stop request to the end of the drain
	exchange  exchangeSummary
	rerequest rerequest.Stats
	feed      feedSnapshot
	drained   bool
	source    source.Stats
	ring      ring.Stats
	ticks     consumerStats
	books     bookCheck
	accel     accelState
}

type exchangeSummary struct {
	on              bool
	sender          udpsend.Stats
	sessionMessages uint64
}

// bookCheck compares the feed handler's books with the marks table and,
// with --demo, with the simulated exchange's reference books.
type bookCheck struct {
	books         int
	marksMatch    int // books whose top equals the instrument's mark
	exchangeMatch int // books equal to the exchange's reference (demo)
}

// summary gathers the final report; every goroutine has stopped.
func (d *daemon) summary(reason string, shutdown time.Duration) summary {
	s := summary{reason: reason, elapsed: time.Since(d.start), shutdown: shutdown,
		feed: d.feed.snapshot(), drained: d.feed.drained.Load(), source: d.src.Stats(),
		ring: d.ticks.Stats(), ticks: d.cons.stats(0, true), accel: d.accel.observe(d.log)}
	if d.x != nil {
		s.exchange = exchangeSummary{on: true, sender: d.x.sender.Stats()}
		s.rerequest = d.x.server.Stats()
	}
	d.feed.h.Books().Each(func(locate uint16, _ [8]byte, t book.Top) {
		s.books.books++
		if m, ok := d.cons.markOf(locate); ok && m.bid == int64(t.Bid) && m.ask == int64(t.Ask) &&
			m.bidSize == int64(ring.Shares(t.BidSize)) && m.askSize == int64(ring.Shares(t.AskSize)) && m.last == int64(t.Last) {
			s.books.marksMatch++
		}
		if d.x == nil {
			return
		}
		if r, ok := d.x.gen.Book(locate); ok && r.Bid == t.Bid && r.Ask == t.Ask && r.BidSize == t.BidSize &&
			r.AskSize == t.AskSize && r.Last == t.Last && r.Orders == t.Orders {
			s.books.exchangeMatch++
		}
	})
	return s
}

// attrs renders the summary as log attributes.
func (s *summary) attrs() []any {
	c, q := s.feed.counters, s.feed.seq
	a := []any{"reason", s.reason, "elapsed", s.elapsed, "shutdown", s.shutdown}
	if s.exchange.on {
		x := s.exchange.sender
		a = append(a,
			slog.Group("exchange", "session_messages", s.exchange.sessionMessages, "packets", x.Packets,
				"messages", x.Messages, "dropped_packets", x.DroppedPackets, "dropped_messages", x.DroppedMessages,
				"heartbeats", x.Heartbeats, "end_of_session", x.EndOfSession, "send_errors", x.SendErrors),
			slog.Group("rerequest", "requests", s.rerequest.Requests, "answered", s.rerequest.Answered,
				"messages_sent", s.rerequest.MessagesSent, "out_of_range", s.rerequest.OutOfRange,
				"bad_requests", s.rerequest.BadRequests))
	}
	feed := []any{"packets", c.Packets, "messages", c.Messages, "duplicates", q.Duplicates,
		"malformed", c.MalformedPackets, "bad_messages", c.BadMessages,
		"gaps_opened", q.GapsOpened, "gaps_recovered", q.GapsRecovered, "gaps_lost", q.GapsLost,
		"recovered_messages", q.Recovered, "lost_messages", q.LostMessages,
		"requests", q.Requests, "request_timeouts", q.Timeouts, "overflows", q.Overflows, "late", q.Late,
		"end_of_session", s.feed.ended, "stale", s.feed.stale, "kernel_drops", s.source.Dropped}
	if s.exchange.on {
		// Whether every message of the ended session was received or
		// recovered before the drain time-out.
		feed = append(feed, "drained", s.drained)
	}
	a = append(a, slog.Group("feed", feed...),
		slog.Group("ring", "published", s.ring.Published, "consumed", s.ring.Consumed,
			"stalls", s.ring.Stalls, "deferred", c.TicksDeferred),
		slog.Group("ticks", "count", s.ticks.ticks, "unknown", s.ticks.unknown,
			"lat_p50", time.Duration(s.ticks.p50), "lat_p99", time.Duration(s.ticks.p99),
			"lat_max", time.Duration(s.ticks.max)))
	books := []any{"count", s.books.books, "marks_match", s.books.marksMatch}
	if s.exchange.on {
		books = append(books, "exchange_match", s.books.exchangeMatch)
	}
	return append(a, slog.Group("books", books...), slog.Group("accel", s.accel.attrs()...))
}
