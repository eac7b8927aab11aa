package client_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// startFastHTTP serves h on a loopback port and returns its base URL.
func startFastHTTP(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// rawServer accepts one connection and hands it to f.
func rawServer(t *testing.T, f func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f(c)
	}()
	return "http://" + ln.Addr().String()
}

func dialHTTP(t *testing.T, base string) *client.HTTPDirect {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := client.DialHTTPDirect(ctx, base, "tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// pollHTTP polls h until an answer or an error, for at most 5 s.
func pollHTTP(t *testing.T, h *client.HTTPDirect, r *client.HTTPResponse) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		ok, err := h.Poll(r)
		if ok || err != nil {
			return err
		}
		if i%1024 == 0 && time.Now().After(deadline) {
			t.Fatal("no answer")
		}
	}
}

// TestHTTPDirectPipelined posts many requests before reading any answer:
// each is answered, in order, with what the server saw of it.
func TestHTTPDirectPipelined(t *testing.T) {
	base := startFastHTTP(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Request.Header.Peek("Authorization")) != "Bearer tok" {
			ctx.SetStatusCode(fasthttp.StatusUnauthorized)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
		fmt.Fprintf(ctx, "%s %s %s %s", ctx.Method(), ctx.Path(), ctx.Request.Header.ContentType(), ctx.PostBody())
	})
	h := dialHTTP(t, base)
	const n = 100
	for i := range n {
		var err error
		if i%10 == 9 {
			err = h.Get("/g/" + strconv.Itoa(i))
		} else {
			err = h.Post("/p/"+strconv.Itoa(i), []byte(`{"i":`+strconv.Itoa(i)+`}`))
		}
		if err != nil {
			t.Fatal(i, err)
		}
	}
	if h.Inflight() != n {
		t.Fatalf("inflight %d", h.Inflight())
	}
	var r client.HTTPResponse
	for i := range n {
		if err := pollHTTP(t, h, &r); err != nil {
			t.Fatal(i, err)
		}
		want := fmt.Sprintf(`POST /p/%d application/json {"i":%d}`, i, i)
		if i%10 == 9 {
			want = fmt.Sprintf("GET /g/%d  ", i)
		}
		if r.Status != fasthttp.StatusCreated || string(r.Body) != want {
			t.Fatalf("answer %d: %d %q, want %q", i, r.Status, r.Body, want)
		}
	}
	if ok, err := h.Poll(&r); ok || err != nil || h.Inflight() != 0 {
		t.Fatalf("extra answer: %v %v, inflight %d", ok, err, h.Inflight())
	}
}

// TestHTTPDirectFragments: an answer arriving a few bytes at a time is
// returned only once whole, and two answers in one segment are both read.
func TestHTTPDirectFragments(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello"
	base := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for range 3 {
			if _, err := readRequest(br); err != nil {
				return
			}
		}
		for i := 0; i < len(resp); i += 7 {
			_, _ = c.Write([]byte(resp[i:min(i+7, len(resp))]))
			time.Sleep(2 * time.Millisecond)
		}
		_, _ = c.Write([]byte(resp + strings.Replace(resp, "hello", "world", 1)))
		time.Sleep(time.Second)
	})
	h := dialHTTP(t, base)
	for range 3 {
		if err := h.Post("/x", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	var r client.HTTPResponse
	for _, want := range []string{"hello", "hello", "world"} {
		if err := pollHTTP(t, h, &r); err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 || string(r.Body) != want {
			t.Fatalf("%d %q, want %q", r.Status, r.Body, want)
		}
	}
}

// readRequest reads one request with a Content-Length body.
func readRequest(br *bufio.Reader) (string, error) {
	var req fasthttp.Request
	if err := req.Read(br); err != nil {
		return "", err
	}
	return string(req.Header.RequestURI()), nil
}

// TestHTTPDirectBadAnswers: answers HTTPDirect cannot read end the
// session with ErrProtocol, a closed connection with io.EOF, and the error
// sticks.
func TestHTTPDirectBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		post         bool
		want         error
	}{
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", true, client.ErrProtocol},
		{"no length", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello", true, client.ErrProtocol},
		{"body too long", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", client.HTTPBodyBytesMax+1), true, client.ErrProtocol},
		{"header too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", client.HTTPHeaderBytesMax) + "\r\n\r\n", true, client.ErrProtocol},
		{"garbage", "SMTP ready\r\n\r\n", true, client.ErrProtocol},
		{"unasked", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, client.ErrProtocol},
		{"closed", "", true, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := rawServer(t, func(c net.Conn) {
				if tc.post {
					if _, err := readRequest(bufio.NewReader(c)); err != nil {
						return
					}
				}
				_, _ = c.Write([]byte(tc.answer))
				if tc.want != io.EOF {
					time.Sleep(time.Second)
				}
			})
			h := dialHTTP(t, base)
			if tc.post {
				if err := h.Post("/x", []byte("{}")); err != nil {
					t.Fatal(err)
				}
			}
			var r client.HTTPResponse
			err := pollHTTP(t, h, &r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Poll: %v, want %v", err, tc.want)
			}
			if _, again := h.Poll(&r); !errors.Is(again, tc.want) {
				t.Fatalf("second Poll: %v", again)
			}
			if err := h.Post("/x", nil); !errors.Is(err, tc.want) {
				t.Fatalf("Post after the error: %v", err)
			}
		})
	}
}

func TestHTTPDirectErrors(t *testing.T) {
	base := startFastHTTP(t, func(ctx *fasthttp.RequestCtx) {})
	ctx := context.Background()
	for _, tok := range []string{"", "a b", "a\r\nX: y"} {
		if _, err := client.DialHTTPDirect(ctx, base, tok); !errors.Is(err, client.ErrToken) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	for _, u := range []string{"https://127.0.0.1:1", "127.0.0.1:80", "http://", base + "/v1", "http://%zz"} {
		if _, err := client.DialHTTPDirect(ctx, u, "t"); err == nil {
			t.Errorf("url %q accepted", u)
		}
	}
	h := dialHTTP(t, base)
	for range client.HTTPInflightMax {
		if err := h.Get("/"); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Get("/"); !errors.Is(err, client.ErrHTTPBusy) {
		t.Fatalf("over HTTPInflightMax: %v", err)
	}
	if err := h.Post("/", make([]byte, client.HTTPRequestBytesMax)); err == nil {
		t.Fatal("oversized request accepted")
	}
	h.Close()
	h.Close()
	var r client.HTTPResponse
	if _, err := h.Poll(&r); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Poll after Close: %v", err)
	}
}

// TestHTTPDirectAllocs: a request and its answer allocate nothing once the
// connection is warm.
func TestHTTPDirectAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	base := startFastHTTP(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"decision":"accept"}`) })
	h := dialHTTP(t, base)
	body := []byte(`{"account":1001,"instrument":1,"side":"buy","qty":5}`)
	var r client.HTTPResponse
	round := func() {
		if err := h.Post("/v1/check", body); err != nil {
			t.Fatal(err)
		}
		for {
			ok, err := h.Poll(&r)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return
			}
		}
	}
	round()
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}
