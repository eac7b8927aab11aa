// Package srcbench measures the live packet sources (UDP socket, AF_PACKET,
// AF_XDP) side by side through the whole feed pipeline: source, MoldUDP64
// sequencing, ITCH decoding, book update and the tick ring.
//
// The pieces are small and independent of any network:
//
//   - Feed encodes the benchmark feed: one MoldUDP64 packet per ITCH
//     message, consecutive sequence numbers, alternating an Add Order and its
//     Order Delete on one book, so every packet changes the book's top and
//     yields exactly one tick. The sender stamps each message's ITCH
//     timestamp with source.Now, so a tick's ExchangeNs is its send time.
//   - Pipeline runs feedhandler.Run (the appliance's receive loop) over a
//     source and consumes the tick ring on the same goroutine after each
//     batch, recording packet-to-ring latency (source.Now at ring pop minus
//     ExchangeNs) and checking every tick against the feed.
//   - The latency histogram is feedhandler/latency's Recorder (HdrHistogram,
//     1 ns to 10 s, 3 significant digits).
//   - Open opens a source of a given Kind with the low-latency settings the
//     comparison uses.
//
// The veth rig, the senders and BenchmarkSourceCompare live in this
// package's tests; results are recorded in bench/feedsrc/RESULTS.md.
package srcbench
