// Package verdict is the server of Ballast's binary verdict protocol
// (DESIGN §5.2), over TCP (Serve) and over the same-host shared-memory
// transport (ServeShm): matching engines and trading firms log in with a
// bearer token, then send OrderCheck, AccountQuery and Fill requests framed
// by engine/sbe and receive Verdict, AccountStatus and Ack responses, plus
// MarginNotice pushes on margin state changes. Both transports run the same
// request handler, so a request gets the same answer on either.
//
// # Connections
//
// Each TCP connection has one reader goroutine and one writer goroutine. The
// reader decodes frames (at most Config.FrameBytesMax bytes each) from a
// bufio.Reader of Config.ReadBufferBytes and handles requests strictly in
// arrival order, so responses leave in request order and echo the request's
// reqId; clients may pipeline freely. Responses are appended to a
// per-connection queue of at most Config.PendingMax frames. When the reader
// has no whole request left in its buffer it writes the queue itself (one
// write for the whole batch, no hand-off on the latency path); otherwise, and
// for notices, the writer goroutine flushes it. Exactly one of them writes at
// a time. When the queue is full the reader stops reading: a client that does
// not read its responses is throttled by TCP, and disconnected after
// Config.WriteTimeout, never buffered in the server's memory.
//
// Every malformed-input class of §5.2 is answered with an Error frame whose
// code is sbe.CodeOf's. After a class that leaves the stream out of step
// (wrong encoding type, frame too long, a SOFH too short) the server sends the
// Error and closes that connection; after the other classes the frame has been
// consumed and the connection keeps going. No input ever affects another
// connection.
//
// # Shared memory
//
// ServeShm creates a fixed number of slot files (engine/shmring session
// files, at most ShmSlotsMax) in a directory; a client (client.DialShm)
// claims a free one, so a slot is one session at a time. The slot's
// goroutine reads each request, serves it and writes the response straight
// into the response ring: no queue and no hand-off on the latency path, and
// no allocation per request. A per-session notice goroutine writes queued
// MarginNotices (at most Config.PendingMax waiting; more are dropped and
// counted); a mutex makes the two take turns, so the ring has a single
// producer at a time. A client that leaves its response ring full stops
// the server reading its requests (backpressure through the rings) and is
// disconnected after Config.WriteTimeout; a watchdog enforces that and
// Config.IdleTimeout by sampling two counters per session, as shmring calls
// have no deadlines. Malformed frames are answered with an Error and the
// session continues (the ring preserves framing); a corrupt ring, a client
// that closes or dies, a denied Login and the timeouts end the session, and
// the slot file is then created afresh for the next client.
//
// # Sessions and roles
//
// A Login's token maps to a role through Config.Tokens, with DESIGN §5.3's
// meaning (the HTTP API's): "admin" (the exchange: everything), "firm:<id>"
// (checks and queries on that firm's accounts only, its own notices, no
// fills: fills are the exchange's to report) or "ops" (every account's
// notices, no check, query or fill: ops is metrics, health and the
// dashboard). A refused request gets NOT_AUTHORISED (a Verdict with reason
// NOT_AUTHORISED for a check); so does a firm's request for an account the
// service does not know, so a firm cannot probe which accounts exist.
// Any request before a successful Login gets Error NOT_LOGGED_IN; a second
// Login gets UNEXPECTED_TEMPLATE. A denied Login is answered (LoginAck status
// 1) and the connection closed, so tokens cannot be guessed at line rate on
// one connection. Fill responses are Acks whose status is the ErrorCode
// (0 ok); query refusals are Error frames echoing the reqId.
//
// A Fill is answered only after Service.Fill returns, i.e. after the fill is
// durable (EngineService journals and fsyncs it first); since responses are
// in order, the requests pipelined behind a Fill on the same connection wait
// for that fsync (journal group commit shares it across connections).
// Config.FillTimeout bounds the wait. Changes to one account (fills,
// collateral) are applied in the order they were journalled, which is the
// order a restart replays them in, so a restored account is the live one
// bit for bit; concurrent changes to the same account therefore take turns
// through their fsyncs, while other accounts' still share them.
//
// # Limits
//
// Config.ConnsMax bounds connections (an extra one gets Error INTERNAL,
// "connection limit", and is closed), Config.PendingMax the frames queued per
// connection, Config.FrameBytesMax an inbound frame, Config.IdleTimeout the
// silence allowed (login included) and Config.WriteTimeout how long a peer
// may leave a batch of responses unread before it is disconnected.
//
// # Notices
//
// A notifier goroutine polls Service.Sweep every Config.NoticeInterval and
// pushes each state change as a MarginNotice to every logged-in session
// allowed to see the account. A notice never waits: when a session's queue is
// full the notice is dropped for that session and counted in
// Stats.NoticesDropped, so one slow consumer cannot hold up the others or the
// request path. A consumer that needs every transition re-queries with
// AccountQuery after a drop (the state is always current there).
package verdict
