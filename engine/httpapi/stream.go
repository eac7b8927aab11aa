package httpapi

import (
	"bufio"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/valyala/fasthttp"
)

// noticeBody is the JSON data of a "margin" event (the MarginNotice of
// DESIGN §5.2 plus the firm and the previous state).
type noticeBody struct {
	Account           uint64 `json:"account"`
	Firm              string `json:"firm"`
	From              string `json:"from"`
	State             string `json:"state"`
	Epoch             uint64 `json:"epoch"`
	Equity            int64  `json:"equity"`
	InitialMargin     int64  `json:"initial_margin"`
	MaintenanceMargin int64  `json:"maintenance_margin"`
}

// event is one encoded server-sent event, shared by every client it goes to.
type event struct {
	firm string
	data []byte // the whole "id: …\nevent: …\ndata: …\n\n" record
}

type streamClient struct {
	r  role
	ch chan *event
}

// hub fans events out to stream clients. A client whose queue is full is
// disconnected (its channel closed) rather than waited for.
type hub struct {
	clientsMax, bufferMax int
	m                     *metrics

	mu      sync.Mutex
	closed  bool
	seq     uint64
	clients map[*streamClient]struct{}
}

func newHub(clientsMax, bufferMax int, m *metrics) *hub {
	return &hub{clientsMax: clientsMax, bufferMax: bufferMax, m: m, clients: make(map[*streamClient]struct{})}
}

// join registers a client; nil when the hub is closed or full.
func (h *hub) join(r role) *streamClient {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= h.clientsMax {
		return nil
	}
	c := &streamClient{r: r, ch: make(chan *event, h.bufferMax)}
	h.clients[c] = struct{}{}
	h.m.streamClients.Add(1)
	return c
}

// leave unregisters c (closing its channel) if the hub still holds it.
func (h *hub) leave(c *streamClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.ch)
		h.m.streamClients.Add(-1)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c.ch)
		h.m.streamClients.Add(-1)
	}
}

func (h *hub) publish(n *engine.Notice, svc Service) {
	firm := n.Firm
	if firm == "" {
		firm, _ = svc.FirmOf(n.Account)
	}
	data, err := json.Marshal(noticeBody{Account: n.Account, Firm: firm, From: n.From.String(), State: n.To.String(),
		Epoch: n.Epoch, Equity: verdict.WireMoney(n.Equity), InitialMargin: verdict.WireMoney(n.IM), MaintenanceMargin: verdict.WireMoney(n.MM)})
	if err != nil {
		panic("httpapi: notice does not marshal: " + err.Error())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	rec := make([]byte, 0, len(data)+48)
	rec = append(rec, "id: "...)
	rec = strconv.AppendUint(rec, h.seq, 10)
	rec = append(rec, "\nevent: margin\ndata: "...)
	rec = append(rec, data...)
	rec = append(rec, "\n\n"...)
	ev := &event{firm: firm, data: rec}
	h.m.streamEvents.Add(1)
	for c := range h.clients {
		if c.r.kind == roleFirm && c.r.firm != firm {
			continue
		}
		select {
		case c.ch <- ev:
		default:
			delete(h.clients, c)
			close(c.ch)
			h.m.streamClients.Add(-1)
			h.m.streamDropped.Add(1)
		}
	}
}

// streamHeader is the response head of a stream: the body is delimited by
// the connection's close.
const streamHeader = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n" +
	"Connection: close\r\nX-Accel-Buffering: no\r\nServer: ballast\r\n\r\n: connected\nretry: 2000\n\n"

// streamWriteBytes sizes a stream's write buffer.
const streamWriteBytes = 16 << 10

// stream answers GET /v1/stream with server-sent events until the client
// goes away, falls behind or the server shuts down. The connection is
// hijacked from fasthttp (whose write deadline covers a whole response) so
// that each write gets its own deadline.
func (s *Server) stream(ctx *fasthttp.RequestCtx, r role) {
	c := s.hub.join(r)
	if c == nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "stream client limit reached or server closing")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	s.streams.Add(1)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(conn net.Conn) {
		defer s.streams.Done()
		defer s.hub.leave(c)
		s.serveStream(conn, c)
	})
}

func (s *Server) serveStream(conn net.Conn, c *streamClient) {
	w := bufio.NewWriterSize(conn, streamWriteBytes)
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	flush := func() bool {
		_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		return w.Flush() == nil
	}
	if _, err := w.WriteString(streamHeader); err != nil || !flush() {
		return
	}
	for {
		select {
		case ev, ok := <-c.ch:
			if !ok {
				return
			}
			if _, err := w.Write(ev.data); err != nil {
				return
			}
			// Coalesce what is already queued into one flush.
			for drained := false; !drained; {
				select {
				case ev, ok = <-c.ch:
					if !ok {
						flush()
						return
					}
					if _, err := w.Write(ev.data); err != nil {
						return
					}
				default:
					drained = true
				}
			}
			if !flush() {
				return
			}
		case <-t.C:
			if _, err := w.WriteString(": heartbeat\n\n"); err != nil || !flush() {
				return
			}
		}
	}
}
