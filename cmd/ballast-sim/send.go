package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/rerequest"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

const sendSynopsis = `Usage: ballast-sim send --to ADDR [--rate PPS | --msg-rate MPS] [flags]

Sends a synthetic ITCH 5.0 session over MoldUDP64 to ADDR (unicast, or an
IPv4 multicast group), paced at --rate packets/s or --msg-rate messages/s
(neither: as fast as the socket takes them). Heartbeats go out when idle and
an end-of-session packet at the end. --seconds bounds the sending time (the
session then closes: pauses resume, closing crosses print); --messages fixes
the message count; with neither, it runs until interrupted (SIGINT/SIGTERM
close the session; a second signal stops at once).

With --events SCRIPT the session carries scripted market events at times of
its own clock (reproducible from --seed): crash@TIME:MOVE%[:SYMBOLS] moves
fair prices at once and the books re-form there; volspike@TIME:xF:DUR[:SYMBOLS]
multiplies volatility for a while; outage@TIME:DUR silences the feed (no
data, no heartbeats) for DUR, after which it resumes with the next sequence
number. With --http URL --token ADMIN a volatility spike is also applied to
the appliance (PUT /v1/underlyings/{symbol}/vol, atm_scale) and undone at
its end, so that its margins see it. See docs/simulator.md.

With --rerequest ADDR a MoldUDP64 re-request server on ADDR answers
retransmission requests from every message sent (dropped ones included) and
keeps answering for --linger after the end of session.

Prints a JSON summary with the sender's counters and the generator's
reference books.

Flags:
`

// sendOpts are the send subcommand's flags.
type sendOpts struct {
	gen         genFlags
	to          string
	pps         float64
	mps         float64
	simRate     float64
	rerequest   string
	linger      time.Duration
	storeMsgs   int
	bind        string
	iface       string
	ttl         int
	loopback    bool
	batch       int
	burst       float64
	heartbeat   time.Duration
	sndbufBytes int
	httpURL     string
	token       string
	httpTimeout time.Duration
}

func sendFlags() (*flag.FlagSet, *sendOpts) {
	o := &sendOpts{}
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	o.gen.register(fs)
	fs.StringVar(&o.to, "to", "", "destination IPv4 address:port (required)")
	fs.Float64Var(&o.pps, "rate", 0, "packets per second (0: unpaced)")
	fs.Float64Var(&o.mps, "msg-rate", 0, "messages per second, instead of --rate")
	fs.Float64Var(&o.gen.seconds, "seconds", 0, "wall-clock seconds to send before closing the session (0: no bound)")
	fs.Float64Var(&o.simRate, "sim-rate", 0, "messages per simulated second spacing ITCH timestamps (default: --msg-rate, else 200000)")
	fs.StringVar(&o.rerequest, "rerequest", "", "serve MoldUDP64 retransmission requests on this address:port")
	fs.DurationVar(&o.linger, "linger", 5*time.Second, "keep the re-request server up this long after the end of session")
	fs.IntVar(&o.storeMsgs, "store-messages", rerequest.MessagesDefault, "messages the re-request server keeps")
	fs.StringVar(&o.bind, "bind", "", "local address:port to send from")
	fs.StringVar(&o.iface, "iface", "", "interface for multicast")
	fs.IntVar(&o.ttl, "ttl", 1, "multicast TTL")
	fs.BoolVar(&o.loopback, "loopback", true, "deliver multicast to listeners on this host too")
	fs.IntVar(&o.batch, "batch", udpsend.DefaultBatchPackets, "packets per sendmmsg")
	fs.Float64Var(&o.burst, "burst", 0, "token bucket depth in packets or messages (0: 1 ms worth, at least 2)")
	fs.DurationVar(&o.heartbeat, "heartbeat", udpsend.DefaultHeartbeat, "idle time before a heartbeat (negative: none)")
	fs.IntVar(&o.sndbufBytes, "sndbuf", 4<<20, "socket send buffer in bytes (0: system default)")
	fs.StringVar(&o.httpURL, "http", "", "appliance HTTP API (http://HOST:PORT) that volatility spikes are applied to")
	fs.StringVar(&o.token, "token", "", "admin bearer token for --http")
	fs.DurationVar(&o.httpTimeout, "http-timeout", 5*time.Second, "time limit of one --http request")
	fs.Usage = usageFunc(fs, sendSynopsis)
	return fs, o
}

// sendSummary is the send subcommand's JSON output.
type sendSummary struct {
	To              string              `json:"to"`
	Session         string              `json:"session"`
	Seed            uint64              `json:"seed"`
	Symbols         int                 `json:"symbols"`
	Packets         uint64              `json:"packets"`
	Messages        uint64              `json:"messages"`
	Heartbeats      uint64              `json:"heartbeats"`
	EndOfSession    bool                `json:"end_of_session"`
	DroppedPackets  uint64              `json:"dropped_packets"`
	DroppedMessages uint64              `json:"dropped_messages"`
	SendErrors      uint64              `json:"send_errors"`
	Writes          uint64              `json:"writes"`
	Bytes           uint64              `json:"bytes"`
	Generated       uint64              `json:"generated_messages"`
	GeneratedByType map[string]uint64   `json:"generated_by_type"`
	ElapsedSeconds  float64             `json:"elapsed_s"`
	Events          []firedJSON         `json:"events,omitempty"`
	Silences        uint64              `json:"silences,omitempty"`
	SilencedSeconds float64             `json:"silenced_s,omitempty"`
	VolUpdates      uint64              `json:"vol_updates,omitempty"`
	VolUpdatesSkip  uint64              `json:"vol_updates_skipped,omitempty"`
	VolUpdateErrors uint64              `json:"vol_update_errors,omitempty"`
	Rerequest       *rerequestSummary   `json:"rerequest,omitempty"`
	Books           map[string]bookJSON `json:"books"`
}

type rerequestSummary struct {
	Addr         string `json:"addr"`
	Requests     uint64 `json:"requests"`
	Answered     uint64 `json:"answered"`
	MessagesSent uint64 `json:"messages_sent"`
	BadRequests  uint64 `json:"bad_requests"`
}

func runSend(args []string, stdout, stderr io.Writer) error {
	fs, o := sendFlags()
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if o.to == "" {
		return fmt.Errorf("%w: --to is required", errUsage)
	}
	if o.pps != 0 && o.mps != 0 {
		return fmt.Errorf("%w: give --rate or --msg-rate, not both", errUsage)
	}
	rate := o.simRate
	if rate == 0 {
		rate = o.mps
	}
	cfg, err := o.gen.config(rate)
	if err != nil {
		return err
	}
	drops, err := parseDropList(o.gen.dropList)
	if err != nil {
		return err
	}
	if o.linger < 0 {
		return fmt.Errorf("%w: --linger %v is negative", errUsage, o.linger)
	}
	g, err := itchgen.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	conn, err := udpsend.Dial(udpsend.DialConfig{Addr: o.to, Local: o.bind, Interface: o.iface, TTL: o.ttl,
		Loopback: o.loopback, SendBufferBytes: o.sndbufBytes})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer conn.Close()
	session := moldudp64.MakeSession(o.gen.session)
	scfg := udpsend.Config{Session: session, PayloadBytesMax: o.gen.payload, PacketsPerSec: o.pps,
		MessagesPerSec: o.mps, Burst: o.burst, BatchPackets: o.batch, Heartbeat: o.heartbeat,
		DropRate: o.gen.dropRate, DropPackets: drops, Seed: o.gen.seed}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var srv *rerequest.Server
	var srvWG sync.WaitGroup
	if o.rerequest != "" {
		store, err := rerequest.NewStore(rerequest.StoreConfig{Session: session, MessagesMax: o.storeMsgs})
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		srv, err = rerequest.Listen(o.rerequest, rerequest.Config{Store: store, PayloadBytesMax: o.gen.payload})
		if err != nil {
			return fmt.Errorf("re-request server: %w", err)
		}
		defer srv.Close()
		srvWG.Add(1)
		go func() {
			defer srvWG.Done()
			if err := srv.Serve(ctx); err != nil {
				fmt.Fprintf(stderr, "ballast-sim send: re-request server: %v\n", err)
			}
		}()
		scfg.Store = store
		fmt.Fprintf(stderr, "ballast-sim send: re-request server on %s\n", srv.Addr())
	}
	s, err := udpsend.New(conn, scfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	// Stop requests (time bound, first signal) close the session through
	// the generator, on the sending goroutine; a second signal cancels.
	var finish atomic.Bool
	if o.gen.seconds > 0 {
		t := time.AfterFunc(time.Duration(o.gen.seconds*float64(time.Second)), func() { finish.Store(true) })
		defer t.Stop()
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-sigs:
				if n == 0 {
					finish.Store(true)
				} else {
					cancel()
				}
			case <-ctx.Done():
				return
			}
		}
	}()

	vols, err := newVolDriver(o.httpURL, o.token, o.httpTimeout, g.Symbols(), cfg.Events, stderr)
	if err != nil {
		return err
	}
	var m itch.Message
	var events eventLog
	finished := false
	next := func(dst []byte) ([]byte, bool) {
		if !finished && finish.Load() {
			finished = true
			g.Finish()
		}
		if !g.Next(&m) {
			return dst, false
		}
		// Event boundaries fire before this message: an outage holds it
		// back until the silence is over.
		for _, f := range g.TakeFired() {
			events.add(f)
			switch {
			case f.Event.Kind == itchgen.EventOutage:
				s.Silence(time.Duration(f.Event.DurationNs))
			case vols != nil:
				vols.fired(f)
			}
		}
		return m.Append(dst), true
	}
	start := time.Now()
	runErr := s.Run(ctx, next)
	elapsed := time.Since(start)
	var volUpdates, volSkipped, volErrors uint64
	if vols != nil {
		volUpdates, volSkipped, volErrors = vols.Close()
	}
	if runErr == nil && srv != nil && o.linger > 0 {
		select {
		case <-time.After(o.linger):
		case <-ctx.Done():
		}
	}
	cancel()
	if srv != nil {
		srv.Close()
		srvWG.Wait()
	}
	st := s.Stats()
	sum := sendSummary{To: o.to, Session: o.gen.session, Seed: o.gen.seed, Symbols: len(g.Symbols()),
		Packets: st.Packets, Messages: st.Messages, Heartbeats: st.Heartbeats, EndOfSession: st.EndOfSession > 0,
		DroppedPackets: st.DroppedPackets, DroppedMessages: st.DroppedMessages, SendErrors: st.SendErrors,
		Writes: st.Writes, Bytes: st.Bytes, Generated: g.Stats().Messages, ElapsedSeconds: elapsed.Seconds(),
		Events: events.fired, Silences: st.Silences, SilencedSeconds: float64(st.SilencedNs) / 1e9,
		VolUpdates: volUpdates, VolUpdatesSkip: volSkipped, VolUpdateErrors: volErrors, Books: booksJSON(g)}
	gs := g.Stats()
	sum.GeneratedByType = byTypeJSON(&gs.ByType)
	if srv != nil {
		rs := srv.Stats()
		sum.Rerequest = &rerequestSummary{Addr: srv.Addr().String(), Requests: rs.Requests, Answered: rs.Answered,
			MessagesSent: rs.MessagesSent, BadRequests: rs.BadRequests}
	}
	if err := writeJSON(stdout, sum); err != nil {
		return err
	}
	if runErr != nil && ctx.Err() == nil {
		return runErr
	}
	if volErrors > 0 {
		return fmt.Errorf("%d volatility updates to %s failed", volErrors, o.httpURL)
	}
	if runErr != nil {
		return fmt.Errorf("interrupted before the end of session: %w", runErr)
	}
	return nil
}
