// Package httpapi is Ballast's HTTP API (DESIGN §5.3): JSON account queries,
// what-if checks, fills, collateral updates and attestations, the instrument
// master and the latest epoch, a server-sent-event stream of margin state
// changes, Prometheus metrics, and health and readiness probes, served by
// fasthttp. docs/http-api.md is the reference, with curl examples.
//
// # Roles
//
// Every /v1 route and /metrics need "Authorization: Bearer <token>"; the
// token maps to a role through Config.Tokens (compared as SHA-256 digests in
// constant time, against every configured token). "admin" (the exchange)
// may do everything; "firm:<id>" may list and read its own accounts, what-if
// orders on them, and read the instruments, the epoch and its own stream
// events; "ops" may read metrics, the instruments, the epoch and the whole
// stream. /healthz and /readyz need no token (load-balancer probes). A
// missing or unknown token gets 401; a role not allowed on a route, or a
// firm naming an account that is not its own (or that does not exist, so
// firms cannot probe ids), gets 403.
//
// # Input
//
// Bodies are bounded by Config.BodyBytesMax (413 beyond); JSON is decoded
// strictly (unknown fields, trailing data, wrong types: 400); a check batch
// holds at most Config.OrdersMax orders. Every error body is
// {"error": "…"}. Money and prices are integers in 1/10,000 units, as on
// the SBE wire (DESIGN §5).
//
// # Fills
//
// POST /v1/fills is answered 201 only after Service.Fill returns success,
// which for EngineService means the fill was journalled and fsynced by
// verdict.EngineService, then applied; a repeated exec_id gets 409.
//
// # Stream
//
// GET /v1/stream sends "margin" events (id, event, data lines) and a
// heartbeat comment every Config.HeartbeatInterval. Events come from
// Server.Publish, or from polling Config.Sweep. Each client has a queue of
// Config.StreamBufferMax events; publishing never waits: a client whose
// queue is full is disconnected and counted in
// ballast_http_stream_dropped_total (it reconnects and re-reads account
// state). Each write of a stream must complete within Config.WriteTimeout.
//
// # Metrics
//
// GET /metrics writes the Prometheus text format 0.0.4 by hand from atomic
// counters (request counts by route and status, verdicts by decision and
// reason, a check latency histogram, stream gauges), then Config.Collector's
// families. github.com/prometheus/client_golang is not used: adding it
// would upgrade github.com/klauspost/compress (v1.20.0, required by
// fasthttp, to v1.20.1) and bring in its own dependency tree, and the
// exposition format needs no library.
//
// # Dashboard
//
// With Config.Dashboard set, GET / and GET /dashboard/… serve the live
// dashboard's embedded page and assets (package engine/dashboard; static
// files, no token) and GET /v1/dashboard (admin, ops) serves the
// dashboard.Summary the function returns, with Server.CheckLatency's
// histogram filled in when the summary has none.
//
// # Hot path
//
// A single-order POST /v1/check in canonical form is decoded by a small
// allocation-free parser and encoded by hand; any body it does not
// recognise falls back to encoding/json's strict decoder, which decides.
// FuzzCheckFastAgrees checks that the fast parser never accepts what the
// strict decoder refuses, nor reads it differently.
package httpapi
