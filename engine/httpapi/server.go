package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/dashboard"
	"github.com/ballast-risk/ballast/engine/internal/busypoll"
)

// Defaults for zero Config fields.
const (
	DefaultBodyBytesMax      = 1 << 20
	DefaultReadTimeout       = 5 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultConcurrencyMax    = 4096
	DefaultOrdersMax         = 256
	DefaultFillTimeout       = 5 * time.Second
	DefaultStreamClientsMax  = 64
	DefaultStreamBufferMax   = 1024
	DefaultHeartbeatInterval = 15 * time.Second
)

// Bounds on Config values.
const (
	// TokensMax bounds the configured bearer tokens.
	TokensMax = 4096
	// TokenBytesMax bounds a bearer token.
	TokenBytesMax = 512
	// BodyBytesMaxLimit bounds Config.BodyBytesMax.
	BodyBytesMaxLimit = 64 << 20
	// OrdersMaxLimit bounds Config.OrdersMax.
	OrdersMaxLimit = 1 << 16
	// StreamBufferMaxLimit bounds Config.StreamBufferMax.
	StreamBufferMaxLimit = 1 << 20
)

// Roles.
const (
	RoleAdmin = "admin"
	RoleOps   = "ops"
	// RoleFirmPrefix prefixes a firm's role: "firm:<id>".
	RoleFirmPrefix = "firm:"
)

// ErrClosed reports a Serve after Shutdown.
var ErrClosed = errors.New("httpapi: server closed")

// Config configures a Server. Zero durations and sizes take the defaults.
type Config struct {
	// Tokens maps a bearer token to its role: "admin", "ops" or
	// "firm:<id>".
	Tokens map[string]string
	// BodyBytesMax bounds a request body; a larger one gets 413.
	BodyBytesMax int
	// ReadTimeout bounds reading a request, WriteTimeout writing a
	// response (and each event write of a stream), IdleTimeout a
	// keep-alive connection's wait for the next request.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ConcurrencyMax bounds the connections served at once; beyond it a
	// connection gets 503.
	ConcurrencyMax int
	// OrdersMax bounds the orders in one POST /v1/check.
	OrdersMax int
	// FillTimeout bounds how long POST /v1/fills waits for durability.
	FillTimeout time.Duration
	// StreamClientsMax bounds concurrent GET /v1/stream clients (more get
	// 503); StreamBufferMax bounds the events queued per client (a client
	// that falls this far behind is disconnected and counted).
	StreamClientsMax, StreamBufferMax int
	// HeartbeatInterval is how often an idle stream gets a comment line.
	HeartbeatInterval time.Duration
	// Ready reports whether the feed is live (with a reason when not);
	// /readyz is ready when it says so and an epoch exists. nil: the
	// epoch alone decides.
	Ready func() (bool, string)
	// Collector, when set, appends its metrics to GET /metrics.
	Collector Collector
	// Sweep and SweepInterval, when both set, make the server poll Sweep
	// and publish its notices on /v1/stream. Leave them unset when another
	// component (the SBE server) polls engine.Engine.Sweep — a sweep
	// reports each change once — and call Server.Publish instead.
	Sweep         func() []engine.Notice
	SweepInterval time.Duration
	// Logger receives fasthttp's connection-level errors (nil: the
	// standard logger).
	Logger Logger
	// Dashboard, when set, enables the live dashboard: GET / and
	// GET /dashboard/… serve its embedded page and assets (static files,
	// no token, no data) and GET /v1/dashboard (admin, ops) answers the
	// Summary it returns as JSON, with the server's own check latency
	// histogram when the Summary's CheckLatency is nil. An error is
	// answered 503. nil: those routes are 404. dashboard.Provider.Summary
	// fits.
	Dashboard func() (*dashboard.Summary, error)
	// BusyPoll and BusyPollers make a connection's reads spin as the SBE
	// server's do (verdict.Config.BusyPoll): a connection waiting for its
	// next request tries its socket without parking for up to BusyPoll
	// (at most busypoll.SpinMax), at most BusyPollers of them at once
	// (default 1). Zero BusyPoll: reads park at once.
	BusyPoll    time.Duration
	BusyPollers int
}

// Logger is fasthttp's logger interface (log.Logger satisfies it).
type Logger interface {
	Printf(format string, args ...any)
}

type role struct {
	kind uint8 // roleAdmin..roleFirm
	firm string
}

const (
	roleNone uint8 = iota
	roleAdmin
	roleOps
	roleFirm
)

type tokenEntry struct {
	sum  [sha256.Size]byte
	role role
}

// Server is the HTTP API server (DESIGN §5.3).
type Server struct {
	cfg Config
	svc Service
	// tokens is the token set, swapped whole by SetTokens; a request
	// loads it once.
	tokens  atomic.Pointer[[]tokenEntry]
	poll    *busypoll.Budget // Config.BusyPoll's, shared by the connections
	srv     *fasthttp.Server
	metrics *metrics
	hub     *hub
	// assets serves the dashboard's files (nil without Config.Dashboard).
	assets fasthttp.RequestHandler

	mu     sync.Mutex
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup // the sweep loop
	// streams counts hijacked stream connections still being served.
	streams sync.WaitGroup
}

func parseRole(r string) (role, error) {
	switch {
	case r == RoleAdmin:
		return role{kind: roleAdmin}, nil
	case r == RoleOps:
		return role{kind: roleOps}, nil
	case strings.HasPrefix(r, RoleFirmPrefix):
		f := r[len(RoleFirmPrefix):]
		if err := account.CheckFirm(f); err != nil {
			return role{}, err
		}
		return role{kind: roleFirm, firm: f}, nil
	}
	return role{}, fmt.Errorf("unknown role %q", r)
}

func positive(v *int, def, limit int, name string) error {
	if *v == 0 {
		*v = def
	}
	if *v < 1 || *v > limit {
		return fmt.Errorf("%w: %s %d not in [1, %d]", ErrConfig, name, *v, limit)
	}
	return nil
}

func positiveDur(v *time.Duration, def time.Duration, name string) error {
	if *v == 0 {
		*v = def
	}
	if *v < 0 {
		return fmt.Errorf("%w: negative %s", ErrConfig, name)
	}
	return nil
}

// parseTokens validates a token → role map and returns its entries.
func parseTokens(m map[string]string) ([]tokenEntry, error) {
	if len(m) > TokensMax {
		return nil, fmt.Errorf("%w: %d tokens, at most %d", ErrConfig, len(m), TokensMax)
	}
	tokens := make([]tokenEntry, 0, len(m))
	for tok, r := range m {
		if tok == "" || len(tok) > TokenBytesMax {
			return nil, fmt.Errorf("%w: token of %d bytes (1 to %d)", ErrConfig, len(tok), TokenBytesMax)
		}
		ro, err := parseRole(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		tokens = append(tokens, tokenEntry{sum: sha256.Sum256([]byte(tok)), role: ro})
	}
	return tokens, nil
}

// SetTokens replaces the token set (bearer token → role, as
// Config.Tokens) for the requests that follow; a request already
// authenticated (a stream included) keeps its role. The whole set is
// validated first: on an error nothing changes. It is safe to call while
// the server runs.
func (s *Server) SetTokens(tokens map[string]string) error {
	parsed, err := parseTokens(tokens)
	if err != nil {
		return err
	}
	s.tokens.Store(&parsed)
	return nil
}

// New validates cfg and returns a Server over svc; Serve starts it.
func New(cfg Config, svc Service) (*Server, error) {
	if svc == nil {
		return nil, fmt.Errorf("%w: nil service", ErrConfig)
	}
	tokens, err := parseTokens(cfg.Tokens)
	if err != nil {
		return nil, err
	}
	for _, e := range []error{
		positive(&cfg.BodyBytesMax, DefaultBodyBytesMax, BodyBytesMaxLimit, "BodyBytesMax"),
		positive(&cfg.ConcurrencyMax, DefaultConcurrencyMax, 1<<20, "ConcurrencyMax"),
		positive(&cfg.OrdersMax, DefaultOrdersMax, OrdersMaxLimit, "OrdersMax"),
		positive(&cfg.StreamClientsMax, DefaultStreamClientsMax, 1<<16, "StreamClientsMax"),
		positive(&cfg.StreamBufferMax, DefaultStreamBufferMax, StreamBufferMaxLimit, "StreamBufferMax"),
		positiveDur(&cfg.ReadTimeout, DefaultReadTimeout, "ReadTimeout"),
		positiveDur(&cfg.WriteTimeout, DefaultWriteTimeout, "WriteTimeout"),
		positiveDur(&cfg.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"),
		positiveDur(&cfg.FillTimeout, DefaultFillTimeout, "FillTimeout"),
		positiveDur(&cfg.HeartbeatInterval, DefaultHeartbeatInterval, "HeartbeatInterval"),
	} {
		if e != nil {
			return nil, e
		}
	}
	if cfg.SweepInterval < 0 {
		return nil, fmt.Errorf("%w: negative SweepInterval", ErrConfig)
	}
	if cfg.BusyPoll > 0 && cfg.BusyPollers == 0 {
		cfg.BusyPollers = 1
	}
	poll, err := busypoll.NewBudget(cfg.BusyPoll, cfg.BusyPollers)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s := &Server{cfg: cfg, svc: svc, poll: poll, metrics: newMetrics(), stop: make(chan struct{})}
	s.tokens.Store(&tokens)
	s.hub = newHub(cfg.StreamClientsMax, cfg.StreamBufferMax, s.metrics)
	if cfg.Dashboard != nil {
		s.assets = dashboard.NewAssets().Handler()
	}
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleParseError,
		Name:                         "ballast",
		Concurrency:                  cfg.ConcurrencyMax,
		MaxRequestBodySize:           cfg.BodyBytesMax,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
	}
	if cfg.Logger != nil {
		s.srv.Logger = cfg.Logger
	}
	return s, nil
}

// Serve serves ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.cfg.Sweep != nil && s.cfg.SweepInterval > 0 {
		s.wg.Add(1)
		go s.sweepLoop()
	}
	s.mu.Unlock()
	if s.poll.Spins() {
		ln = busypoll.NewListener(ln, s.poll)
	}
	return s.srv.Serve(ln)
}

// Shutdown stops accepting connections, ends every stream and waits for
// in-flight requests to finish, until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.hub.close()
	s.wg.Wait()
	err := s.srv.ShutdownWithContext(ctx)
	// Streams were hijacked from fasthttp: wait for them separately (each
	// ends at its next write once the hub is closed).
	done := make(chan struct{})
	go func() { s.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}

// Publish sends margin state changes to the stream clients allowed to see
// them. It never blocks on a client.
func (s *Server) Publish(ns ...engine.Notice) {
	for i := range ns {
		s.hub.publish(&ns[i], s.svc)
	}
}

func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Publish(s.cfg.Sweep()...)
		}
	}
}

// authenticate maps the request's bearer token to a role, comparing
// SHA-256 digests in constant time against every configured token.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) role {
	h := ctx.Request.Header.Peek("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || len(h) > len(prefix)+TokenBytesMax || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return role{}
	}
	sum := sha256.Sum256(h[len(prefix):])
	tokens := *s.tokens.Load()
	found := -1
	for i := range tokens {
		if subtle.ConstantTimeCompare(sum[:], tokens[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return role{}
	}
	return tokens[found].role
}
