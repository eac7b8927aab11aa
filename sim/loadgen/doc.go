// Package loadgen drives Ballast's verdict servers with load and measures
// them the way the benchmarks ask: OrderCheck → Verdict latency
// percentiles under an open-loop arrival process, maximum sustained checks/s
// with pipelining, and durable fills/s with group commit.
//
// # Open loop
//
// Run sends requests at a fixed rate (or as a seeded Poisson process) on a
// schedule computed before the run, and measures every request's latency
// from its INTENDED send time, not from when it was actually written. When
// the target stalls, or the sender itself falls behind, later requests go
// out late but are still timed from the schedule, so the stall appears as
// queueing in the percentiles instead of vanishing (coordinated omission).
// The result says how many requests were sent more than LateThreshold late,
// the worst lag, and the lag's p99.
//
// In-flight requests are bounded per connection by Options.InflightMax;
// a sender that finds its window full waits for room, which again counts as
// lateness. Requests whose intended time falls in the warm-up are sent and
// answered but not recorded.
//
// Each session normally has a receiver goroutine beside the one sender.
// When every session is a Poller (ShmTarget with Direct), Run starts none:
// the sender polls every session while it waits for the next intended send
// time and after the last send, with the same accounting, so the whole load
// generator is one goroutine and never hands a reply to another processor.
//
// # Closed loop
//
// RunMax keeps Options.InflightMax pipelined checks in flight on each of
// Options.Conns connections for the duration and reports the sustained
// checks/s (and, for what it is worth, the closed-loop service latency).
// RunFills does the same with Fill requests carrying unique execIds, one
// connection per writer, and reports durable fills/s and ack latency.
//
// # Checking
//
// Every response is matched to its request by reqId (SBE) or by the
// connection it came back on (HTTP); a response for no outstanding request,
// or for another account than the request's, counts as a mismatch. Requests
// never answered by the end of the drain are counted as lost. Nothing is
// dropped silently.
//
// # Transports
//
// TCPTarget speaks the binary SBE protocol through engine/verdict/client;
// ShmTarget the same messages over the shared-memory rings (by default a
// client.Conn per session; with Direct a polled client.Direct); HTTPTarget posts
// single-order JSON to /v1/check (and /v1/fills) over keep-alive
// connections with fasthttp's client.
package loadgen
