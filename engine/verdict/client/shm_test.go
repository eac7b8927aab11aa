package client_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

func startShm(t testing.TB, s *svc, slots int) string {
	t.Helper()
	srv, err := verdict.NewServer(verdict.Config{Tokens: map[string]string{"t": "admin"}, NoticeInterval: time.Millisecond}, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() { done <- srv.ServeShm(verdict.ShmConfig{Dir: dir, Slots: slots}) }()
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, verdict.ErrServerClosed) {
			t.Errorf("ServeShm: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().ShmSlots != slots {
		if time.Now().After(deadline) {
			t.Fatal("slots not ready")
		}
		time.Sleep(time.Millisecond)
	}
	return dir
}

func TestDialShmErrors(t *testing.T) {
	dir := startShm(t, &svc{}, 1)
	ctx := context.Background()
	if _, err := client.DialShm(ctx, dir, "", client.Options{}); !errors.Is(err, client.ErrToken) {
		t.Errorf("empty token: %v", err)
	}
	if _, err := client.DialShm(ctx, t.TempDir(), "t", client.Options{}); !errors.Is(err, client.ErrNoShmSlot) {
		t.Errorf("no slots: %v", err)
	}
	if _, err := client.DialShm(ctx, dir, "x", client.Options{}); !errors.Is(err, client.ErrLoginDenied) {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.DialShm(cctx, dir, "t", client.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
	// A server that never answers the Login: ctx bounds the wait.
	quiet := t.TempDir()
	ep, err := shmring.Listen(filepath.Join(quiet, "verdict-00.shm"), shmring.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	tctx, tcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer tcancel()
	if _, err := client.DialShm(tctx, quiet, "t", client.Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent server: %v", err)
	}
}

func TestDialShmRoundTrip(t *testing.T) {
	s := &svc{}
	dir := startShm(t, s, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.DialShm(ctx, dir, "t", client.Options{NoticesMax: 4})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Check(ctx, sbe.OrderCheck{Account: 1, Side: sbe.SideBuy, Qty: 42}); err != nil || v.Epoch != 42 {
		t.Fatalf("check %+v %v", v, err)
	}
	if st, err := c.Query(ctx, 9); err != nil || st.Equity != 9 {
		t.Fatalf("query %+v %v", st, err)
	}
	if err := c.Fill(ctx, sbe.Fill{Account: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&sbe.AccountQuery{ReqID: 7, Account: 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Recv(ctx); err != nil || r.ReqID != 7 || r.Status.Equity != 3 {
		t.Fatalf("recv %+v %v", r, err)
	}
	s.mu.Lock()
	s.notices = append(s.notices, sbe.MarginNotice{Account: 5, State: sbe.StateLiquidate})
	s.mu.Unlock()
	select {
	case n := <-c.Notices():
		if n.Account != 5 || n.State != sbe.StateLiquidate {
			t.Fatalf("notice %+v", n)
		}
	case <-ctx.Done():
		t.Fatal("no notice")
	}
	// The only slot is taken.
	if _, err := client.DialShm(ctx, dir, "t", client.Options{}); !errors.Is(err, client.ErrNoShmSlot) {
		t.Fatalf("second client: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx, sbe.OrderCheck{Account: 1}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("check after Close: %v", err)
	}
	if _, ok := <-c.Notices(); ok {
		t.Fatal("notices open after Close")
	}
}
