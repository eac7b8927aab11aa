package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// replayLevelsMax is the default depth per book side for replays: deeper than
// the live default, since a full-day capture of a busy symbol can hold more
// than 256 price levels on a side. Level memory is reserved per book but only
// resident once touched.
const replayLevelsMax = 1024

func runFeed(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("feed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pcap := fs.String("pcap", "", "capture `FILE` to replay (pcap or pcapng; Ethernet, VLAN, Linux SLL or raw IPv4 frames)")
	summary := fs.Bool("summary", false, "print the DESIGN §5.1 JSON summary (default: a human-readable table)")
	port := fs.Uint("port", 0, "replay only UDP datagrams to this destination `PORT` (0: any port)")
	ordersMax := fs.Int("orders-max", book.DefaultConfig().OrdersMax, "bound on live orders across all books")
	levelsMax := fs.Int("levels-max", replayLevelsMax, "bound on aggregated price levels per book side (deeper levels are tracked but not summed; see feedhandler/book)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ballastctl feed --pcap FILE [--summary] [--port N]")
		fmt.Fprintln(stderr, "\nReplays MoldUDP64/ITCH 5.0 from a capture. Gaps are reported and skipped\n(there is no re-request server in a replay); malformed input is counted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if *pcap == "" || fs.NArg() != 0 || *port > 65535 {
		fs.Usage()
		return exitUsage
	}
	src, err := source.OpenPcap(*pcap, source.PcapOptions{DstPort: uint16(*port)})
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl feed: %v\n", err)
		return exitFail
	}
	defer src.Close()
	bc := book.DefaultConfig()
	bc.OrdersMax = *ordersMax
	bc.LevelsMax = *levelsMax
	// A MoldUDP64 session starts at sequence 1: a capture that starts later
	// reports the messages before its first packet as a gap.
	h, err := feedhandler.New(feedhandler.Config{Books: bc, Sequencer: moldudp64.Config{StartSeq: 1}})
	if err != nil {
		fmt.Fprintf(stderr, "ballastctl feed: %v\n", err)
		return exitUsage
	}
	if err := feedhandler.Run(context.Background(), h, src, feedhandler.RunOptions{}); err != nil {
		fmt.Fprintf(stderr, "ballastctl feed: %s: %v\n", *pcap, err)
		return exitFail
	}
	s := h.Summary(src.Stats())
	if *summary {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(s); err != nil {
			fmt.Fprintf(stderr, "ballastctl feed: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	printSummary(stdout, s)
	return exitOK
}

func printSummary(w io.Writer, s feedhandler.Summary) {
	fmt.Fprintf(w, "packets %d  messages %d  duplicates %d  gaps %d  errors %d  unknown orders %d\n",
		s.Packets, s.Messages, s.Duplicates, len(s.Gaps), s.Errors, s.UnknownOrders)
	for _, g := range s.Gaps {
		fmt.Fprintf(w, "gap %s [%d..%d]\n", g.Session, g.First, g.Last)
	}
	names := make([]string, 0, len(s.Books))
	for n := range s.Books {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "symbol\tlocate\tbid size\tbid\task\task size\tlast\torders\t")
	for _, n := range names {
		b := s.Books[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t%d\t\n", n, b.Locate, b.BidSize, price(b.Bid), price(b.Ask), b.AskSize, price(b.Last), b.Orders)
	}
	tw.Flush()
}

// price formats ITCH price units (1/10,000) as a decimal.
func price(p *uint64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%d.%04d", *p/10000, *p%10000)
}
