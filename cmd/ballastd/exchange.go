package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/rerequest"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

const (
	// demoSession is the MoldUDP64 session of the simulated exchange.
	demoSession = "BALLAST01"
	// paceQuantum is the sender's pacing granularity: it sleeps at least
	// this long between sends, so the messages due within one quantum
	// share a packet (as an exchange's do) and no core is spent spinning.
	paceQuantum = time.Millisecond
	// senderBurstMax bounds the token bucket (udpsend accepts up to 1e6).
	senderBurstMax = 1e6
	// sendBufferBytes is the sender socket's SO_SNDBUF.
	sendBufferBytes = 4 << 20
	// sleepSliceMax bounds one sleep of the sender so that it notices
	// the end of the run at low rates.
	sleepSliceMax = 50 * time.Millisecond
	// eosRepeat is how often the end-of-session packet is repeated while
	// the feed handler drains, so that a lost one does not stall it.
	eosRepeat = 100 * time.Millisecond
)

// quantumClock is udpsend's clock with sleeps of at least paceQuantum and
// never a busy-wait.
type quantumClock struct{ base time.Time }

func (c *quantumClock) Now() int64 { return int64(time.Since(c.base)) }

// WaitUntil sleeps until ns, at least paceQuantum and at most
// sleepSliceMax (the sender re-checks); spin is ignored.
func (c *quantumClock) WaitUntil(ns int64, _ bool) {
	if d := ns - c.Now(); d > 0 {
		time.Sleep(min(max(time.Duration(d), paceQuantum), sleepSliceMax))
	}
}

// exchangeConfig configures the simulated exchange.
type exchangeConfig struct {
	symbols  int
	seed     uint64
	msgRate  float64 // messages per second; 0: as fast as the socket takes them
	dropRate float64 // probability that a data packet is deliberately lost
	events   []itchgen.Event
	feed     netip.AddrPort
	server   string // re-request server listen address
}

// exchange is the simulated exchange of the demo: an ITCH 5.0 session from
// sim/itchgen, paced onto UDP in MoldUDP64 packets by sim/udpsend, which
// records every message (dropped ones too) in the store that a sim/rerequest
// server answers retransmission requests from.
type exchange struct {
	gen    *itchgen.Generator
	conn   *net.UDPConn
	sender *udpsend.Sender
	server *rerequest.Server

	finish   atomic.Bool // ask the generator to close the session
	cut      atomic.Bool // end the feed now, closing sequence or not
	finished bool        // sender goroutine only
	msg      itch.Message
	// onEvent, when set, is told each market event as it starts and ends
	// (on the sender goroutine).
	onEvent func(itchgen.Fired)
}

// newExchange builds the exchange; the caller closes it.
func newExchange(cfg exchangeConfig) (*exchange, error) {
	simRate := cfg.msgRate
	if simRate == 0 {
		simRate = itchgen.DefaultRate
	}
	gen, err := itchgen.New(itchgen.Config{SymbolCount: cfg.symbols, Seed: cfg.seed, Rate: simRate, Events: cfg.events})
	if err != nil {
		return nil, err
	}
	session := moldudp64.MakeSession(demoSession)
	store, err := rerequest.NewStore(rerequest.StoreConfig{Session: session})
	if err != nil {
		return nil, err
	}
	x := &exchange{gen: gen}
	if x.server, err = rerequest.Listen(cfg.server, rerequest.Config{Store: store}); err != nil {
		return nil, fmt.Errorf("re-request server: %w", err)
	}
	x.conn, err = udpsend.Dial(udpsend.DialConfig{Addr: cfg.feed.String(), SendBufferBytes: sendBufferBytes})
	if err != nil {
		x.server.Close()
		return nil, fmt.Errorf("feed sender: %w", err)
	}
	scfg := udpsend.Config{Session: session, MessagesPerSec: cfg.msgRate, Store: store,
		DropRate: cfg.dropRate, Seed: cfg.seed}
	if cfg.msgRate > 0 {
		scfg.Clock = &quantumClock{base: time.Now()}
		// Twice a quantum's worth, so sleeping a quantum loses no rate.
		scfg.Burst = math.Min(senderBurstMax, math.Max(2, 2*cfg.msgRate*paceQuantum.Seconds()))
	}
	if x.sender, err = udpsend.New(x.conn, scfg); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

// close releases the sockets.
func (x *exchange) close() {
	x.server.Close()
	x.conn.Close()
}

// next is the sender's NextFunc: the generator's next message, encoded.
// After cut the feed ends at once; the message the sender already holds is
// still sent, so every generated message goes on the wire.
func (x *exchange) next(dst []byte) ([]byte, bool) {
	if x.cut.Load() {
		return dst, false
	}
	if !x.finished && x.finish.Load() {
		x.finished = true
		x.gen.Finish()
	}
	// Stamped with the wall-clock send time, so that the engine measures
	// tick-to-verdict from it (same host).
	if !x.gen.NextWallClock(&x.msg, time.Now()) {
		return dst, false
	}
	for _, f := range x.gen.TakeFired() {
		if f.Event.Kind == itchgen.EventOutage && !f.End {
			// The message just generated goes out after the silence.
			x.sender.Silence(time.Duration(f.Event.DurationNs))
		}
		if x.onEvent != nil {
			x.onEvent(f)
		}
	}
	return x.msg.Append(dst), true
}

// send runs the session until its end: the generator's closing sequence
// once finish is set, the next message once cut is set, or at once when ctx
// is done (the message the sender holds is then not sent). Either way the
// end-of-session packet goes out. It returns the session's last sequence
// number.
func (x *exchange) send(ctx context.Context) (uint64, error) {
	err := x.sender.Run(ctx, x.next)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = x.sender.End()
	}
	return x.sender.Stats().NextSeq - 1, err
}

// repeatEnd resends the end-of-session packet every eosRepeat until done is
// closed.
func (x *exchange) repeatEnd(done <-chan struct{}) error {
	t := time.NewTicker(eosRepeat)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			if err := x.sender.End(); err != nil {
				return err
			}
		}
	}
}
