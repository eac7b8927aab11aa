package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// child is ballastd running as a separate process (the test binary in
// child mode), with the addresses its start-up lines gave.
type child struct {
	cmd      *exec.Cmd
	sbeAddr  string
	httpAddr string
	logMu    sync.Mutex
	log      strings.Builder
	exited   chan struct{}
}

const crashToken = "crash-admin-secret"

// startChild runs ballastd over data dir and waits for its listeners.
func startChild(t *testing.T, data string, extra ...string) *child {
	t.Helper()
	args := append([]string{"--data=" + data, "--http=127.0.0.1:0", "--sbe=127.0.0.1:0", "--shm=",
		"--log-format=json", "--token=admin=" + crashToken, "--scenarios=2000", "--epoch-every=200ms",
		"--msg-rate=5000", "--stats-every=1h"}, extra...)
	return spawnChild(t, args)
}

// spawnChild runs the test binary as ballastd with args (the log must be
// JSON) and waits for its SBE and HTTP listeners.
func spawnChild(t *testing.T, args []string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan [2]string, 1)
	go func() {
		defer close(c.exited)
		var sbeA, httpA string
		sent := false
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.logMu.Lock()
			c.log.WriteString(line + "\n")
			c.logMu.Unlock()
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			switch m["msg"] {
			case "verdict server listening (SBE over TCP)":
				sbeA, _ = m["addr"].(string)
			case "HTTP API listening":
				httpA, _ = m["url"].(string)
			}
			if !sent && sbeA != "" && httpA != "" {
				addrs <- [2]string{sbeA, httpA}
				sent = true
			}
		}
		c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	select {
	case a := <-addrs:
		c.sbeAddr, c.httpAddr = a[0], a[1]
	case <-c.exited:
		t.Fatalf("ballastd exited at start-up; log:\n%s", c.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("ballastd did not start; log:\n%s", c.logText())
	}
	return c
}

func (c *child) logText() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.log.String()
}

// setVol overrides the volatility of the first instrument's underlying
// over HTTP with body and expects 200.
func (c *child) setVol(t *testing.T, body string) {
	t.Helper()
	get, _ := http.NewRequest("GET", c.httpAddr+"/v1/instruments", nil)
	get.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	var ib struct {
		Instruments []struct {
			Underlying string `json:"underlying"`
		} `json:"instruments"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&ib)
	resp.Body.Close()
	if err != nil || len(ib.Instruments) == 0 {
		t.Fatalf("GET /v1/instruments: %v", err)
	}
	put, _ := http.NewRequest("PUT", c.httpAddr+"/v1/underlyings/"+ib.Instruments[0].Underlying+"/vol", strings.NewReader(body))
	put.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err = http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT vol: %d %s", resp.StatusCode, out)
	}
}

// positionQty reads an account's position in an instrument over HTTP.
func (c *child) positionQty(t *testing.T, acct uint64, inst uint32) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/accounts/%d", c.httpAddr, acct), nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		t.Fatalf("GET account %d: %d %s", acct, resp.StatusCode, body)
	}
	var st struct {
		Positions []struct {
			Instrument uint32 `json:"instrument"`
			Qty        int64  `json:"qty"`
		} `json:"positions"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Positions {
		if p.Instrument == inst {
			return p.Qty
		}
	}
	return 0
}

// TestCrashLosesNoAcknowledgedFill is the durability contract end to end:
// ballastd, as its own process, takes a stream of fills over SBE from
// several connections and is killed with SIGKILL in the middle of it. After
// a restart on the same data directory every acknowledged fill is there
// exactly once (re-sending it is a duplicate), and each fill that was in
// flight at the kill is there at most once: re-sending it is either a
// duplicate (it was durable) or applied now, after which every position is
// exactly its start plus every fill sent.
func TestCrashLosesNoAcknowledgedFill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ballastd twice")
	}
	data := filepath.Join(t.TempDir(), "data")
	c := startChild(t, data)
	const writers = 4
	// Each writer books buys of one instrument into its own account.
	accts := [writers]uint64{1001, 1002, 1003, 1004}
	const inst = uint32(1)
	var start [writers]int64
	for w := range accts {
		start[w] = c.positionQty(t, accts[w], inst)
	}
	// An operator's volatility override is acknowledged like a fill.
	c.setVol(t, `{"flat":0.9}`)

	var acked [writers]atomic.Int64
	var inflight [writers]atomic.Pointer[sbe.Fill]
	var sent [writers]int64
	const killAt = 150 // acknowledged fills per writer before the kill
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		conn, err := client.Dial(context.Background(), c.sbeAddr, crashToken, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(1)
		go func(w int, conn *client.Conn) {
			defer wg.Done()
			for i := int64(1); ; i++ {
				f := sbe.Fill{Account: accts[w], Instrument: inst, Side: sbe.SideBuy, Qty: 1,
					Price: 1_000_000, ExecID: uint64(w)<<32 | uint64(i)}
				inflight[w].Store(&f)
				sent[w] = i
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := conn.Fill(ctx, f)
				cancel()
				if err != nil {
					// The connection died with the process: f stays in
					// flight, its fate unknown.
					if !errors.Is(err, client.ErrClosed) && !strings.Contains(err.Error(), "EOF") &&
						!strings.Contains(err.Error(), "reset") && !errors.Is(err, context.DeadlineExceeded) {
						errs <- fmt.Errorf("writer %d fill %d: %w", w, i, err)
					}
					return
				}
				inflight[w].Store(nil)
				acked[w].Add(1)
			}
		}(w, conn)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, n := true, int64(0)
		for w := range acked {
			n += acked[w].Load()
			done = done && acked[w].Load() >= killAt
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fills too slow: %d acknowledged; log:\n%s", n, c.logText())
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	<-c.exited
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	c2 := startChild(t, data)
	if !strings.Contains(c2.logText(), `"msg":"durable state restored"`) {
		t.Fatalf("no restore line; log:\n%s", c2.logText())
	}
	if !strings.Contains(c2.logText(), `"vol_surfaces":1,`) {
		t.Errorf("the volatility override was not restored; log:\n%s", c2.logText())
	}
	conn, err := client.Dial(context.Background(), c2.sbeAddr, crashToken, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	total := int64(0)
	for w := 0; w < writers; w++ {
		a := acked[w].Load()
		total += a
		// The last acknowledged fill is a duplicate now: it survived.
		last := sbe.Fill{Account: accts[w], Instrument: inst, Side: sbe.SideBuy, Qty: 1, Price: 1_000_000,
			ExecID: uint64(w)<<32 | uint64(a)}
		if err := conn.Fill(ctx, last); !isDuplicate(err) {
			t.Errorf("writer %d: re-sent acknowledged fill %d: %v, want DUPLICATE_FILL", w, a, err)
		}
		if f := inflight[w].Load(); f != nil {
			if err := conn.Fill(ctx, *f); err != nil && !isDuplicate(err) {
				t.Errorf("writer %d: re-sent in-flight fill: %v", w, err)
			}
		}
		// Every fill sent, acknowledged or in flight, now counts once.
		want := start[w] + sent[w]
		if inflight[w].Load() == nil {
			want = start[w] + a
		}
		if got := c2.positionQty(t, accts[w], inst); got != want {
			t.Errorf("writer %d (account %d): position %d after restart, want %d (start %d, %d acknowledged, %d sent)",
				w, accts[w], got, want, start[w], a, sent[w])
		}
	}
	t.Logf("%d fills acknowledged before SIGKILL, none lost", total)
}

func isDuplicate(err error) bool {
	var se *client.ServerError
	return errors.As(err, &se) && se.Code == sbe.ErrorCodeDuplicateFill
}

// TestStartupFailureIsClean: a listener that cannot be bound (the HTTP
// port taken) or a data directory locked by another ballastd stops the
// start-up with exit 1 and a message naming the cause, releasing what was
// acquired (the second start on the same directory works once the first is
// gone).
func TestStartupFailureIsClean(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	data := filepath.Join(t.TempDir(), "data")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--data=" + data, "--http=" + taken.Addr().String(), "--duration=1s"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "--http") || !strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("exit %d; log:\n%s", code, stderr.String())
	}

	c := startChild(t, data)
	stderr.Reset()
	code = run(context.Background(), []string{"--data=" + data, "--duration=1s"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "locked") {
		t.Fatalf("second ballastd on a locked data directory: exit %d; log:\n%s", code, stderr.String())
	}
	c.cmd.Process.Kill()
	<-c.exited
	stderr.Reset()
	if code := run(context.Background(), []string{"--data=" + data, "--duration=300ms"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("restart after the holder died: exit %d; log:\n%s", code, stderr.String())
	}
}
