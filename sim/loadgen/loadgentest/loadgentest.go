// Package loadgentest starts in-process verdict servers (SBE over TCP and
// shared memory, HTTP) over the engine's test book, for the load
// generator's tests and its command's.
package loadgentest

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/httpapi"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/verdict"
)

// The engine's test book (engine/testdata): accounts 1001, 1002 (acme),
// 2001, 2002 (beta), 3001 (gamma); instruments 1 to 7.
var (
	// AsOf is the book's valuation time and the engine's fixed clock.
	AsOf = enginetest.AsOf
	// Accounts are the book's accounts.
	Accounts = []uint64{1001, 1002, 2001, 2002, 3001}
	// Instruments are the book's instruments.
	Instruments = []uint32{1, 2, 3, 4, 5, 6, 7}
)

// Token is the admin token the servers accept.
const Token = "loadgen-admin"

// Engine builds the test book on the float64 reference backend (500
// scenarios) with a fixed clock, fresh marks and one epoch run.
func Engine(tb testing.TB) *engine.Engine {
	tb.Helper()
	m, set := enginetest.Book(tb)
	cfg := engine.DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 500
	cfg.Now = func() time.Time { return AsOf }
	e, err := engine.New(cfg, m, set)
	if err != nil {
		tb.Fatal(err)
	}
	e.MarkAllFresh()
	if _, err := e.RunEpoch(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Servers are in-process verdict servers over one engine: SBE on TCP
// loopback and over shared memory (ShmSlots slots), and the HTTP API, all
// accepting Token as admin. Fills are journalled in a temporary directory.
type Servers struct {
	Engine *engine.Engine
	// TCPAddr is the SBE listener's address.
	TCPAddr string
	// ShmDir is the shared-memory slot directory.
	ShmDir string
	// HTTPURL is the HTTP API's base URL.
	HTTPURL string
}

// ShmSlots is the number of shared-memory slots Start creates.
const ShmSlots = 4

// Options configure Start's servers.
type Options struct {
	// BusyPoll is the TCP servers' busy polling (verdict.Config.BusyPoll
	// and httpapi.Config.BusyPoll); zero: off.
	BusyPoll time.Duration
}

// Start starts the servers over a fresh Engine; they stop at the end of
// the test.
func Start(tb testing.TB) *Servers {
	tb.Helper()
	return StartWith(tb, Options{})
}

// StartWith is Start with opts.
func StartWith(tb testing.TB, opts Options) *Servers {
	tb.Helper()
	eng := Engine(tb)
	dir := tb.TempDir()
	j, _, err := journal.Open(filepath.Join(dir, "wal"), journal.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	vsvc, err := verdict.NewEngineService(eng, j, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tokens := map[string]string{Token: "admin"}
	vsrv, err := verdict.NewServer(verdict.Config{Tokens: tokens, NoticeInterval: -1, BusyPoll: opts.BusyPoll}, vsvc)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = vsrv.Serve(ln) }()
	s := &Servers{Engine: eng, TCPAddr: ln.Addr().String(), ShmDir: filepath.Join(dir, "shm")}
	shmErr := make(chan error, 1)
	go func() { shmErr <- vsrv.ServeShm(verdict.ShmConfig{Dir: s.ShmDir, Slots: ShmSlots}) }()

	hsvc, err := httpapi.NewEngineService(eng, vsvc)
	if err != nil {
		tb.Fatal(err)
	}
	hsrv, err := httpapi.New(httpapi.Config{Tokens: tokens, BusyPoll: opts.BusyPoll}, hsvc)
	if err != nil {
		tb.Fatal(err)
	}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = hsrv.Serve(hln) }()
	s.HTTPURL = "http://" + hln.Addr().String()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hsrv.Shutdown(ctx); err != nil {
			tb.Errorf("http shutdown: %v", err)
		}
		if err := vsrv.Shutdown(ctx); err != nil {
			tb.Errorf("verdict shutdown: %v", err)
		}
		if err := <-shmErr; err != nil && !errors.Is(err, verdict.ErrServerClosed) {
			tb.Errorf("serve shm: %v", err)
		}
		if err := j.Close(); err != nil {
			tb.Errorf("journal close: %v", err)
		}
	})
	// ServeShm creates its slot files before serving; wait (bounded) for
	// them.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if m, _ := filepath.Glob(filepath.Join(s.ShmDir, "verdict-*.shm")); len(m) == ShmSlots {
			break
		}
		select {
		case err := <-shmErr:
			tb.Fatalf("serve shm: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatal("shared-memory slots not created")
		}
		time.Sleep(time.Millisecond)
	}
	return s
}
