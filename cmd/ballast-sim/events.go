package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/sim/itchgen"
)

// Scripted market events (--events): parsing, the summary's record of what
// fired, and the driver that carries volatility spikes to the appliance.

const (
	// volQueueMax bounds the volatility updates waiting for the HTTP API;
	// beyond it an update is counted as failed rather than block the feed.
	volQueueMax = 1024
	// volBodyBytesMax bounds the error body read from the API.
	volBodyBytesMax = 4 << 10
)

// loadEvents reads --events: a script, or @FILE naming one.
func loadEvents(arg string) ([]itchgen.Event, error) {
	if arg == "" {
		return nil, nil
	}
	script := arg
	if name, ok := strings.CutPrefix(arg, "@"); ok {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%w: --events: %v", errUsage, err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, itchgen.ScriptBytesMax+1))
		if err != nil {
			return nil, fmt.Errorf("%w: --events: %v", errUsage, err)
		}
		script = string(data)
	}
	evs, err := itchgen.ParseEvents(script)
	if err != nil {
		return nil, fmt.Errorf("%w: --events: %v", errUsage, err)
	}
	return evs, nil
}

// firedJSON is one event boundary in a summary.
type firedJSON struct {
	Event string `json:"event"`
	End   bool   `json:"end,omitempty"`
	// AtNs is the ITCH timestamp of the first message after it.
	AtNs uint64 `json:"at_ns"`
}

// eventLog records the boundaries a session passed, for the summary.
type eventLog struct{ fired []firedJSON }

func (l *eventLog) add(f itchgen.Fired) {
	l.fired = append(l.fired, firedJSON{Event: f.Event.String(), End: f.End, AtNs: f.AtNs})
}

// volDriver applies volatility spikes to the appliance through PUT
// /v1/underlyings/{symbol}/vol: at a spike's start each affected symbol's
// surface is scaled by the product of the factors of the spikes active on
// it, at its end rescaled (to 1 when none is left). Requests run on their
// own goroutine, in order, so that the feed never waits for the API; Close
// restores every symbol still scaled. A symbol the appliance does not know
// (404: the feed lists more symbols than its instrument master) is skipped,
// not failed.
type volDriver struct {
	base, token string
	client      *http.Client
	symbols     []string
	events      []itchgen.Event
	active      []bool
	applied     map[string]float64 // sender goroutine only
	jobs        chan volJob
	done        chan struct{}
	stderr      io.Writer

	mu                         sync.Mutex
	updates, skipped, failures uint64
}

type volJob struct {
	symbol string
	scale  float64
}

// newVolDriver returns a driver for the session's symbols and events, or
// nil when base is empty (no appliance to drive).
func newVolDriver(base, token string, timeout time.Duration, symbols []string, events []itchgen.Event, stderr io.Writer) (*volDriver, error) {
	if base == "" {
		if token != "" {
			return nil, fmt.Errorf("%w: --token needs --http", errUsage)
		}
		return nil, nil
	}
	if token == "" {
		return nil, fmt.Errorf("%w: --http needs --token (an admin token)", errUsage)
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --http %q: want http://HOST:PORT", errUsage, base)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("%w: --http-timeout %v must be positive", errUsage, timeout)
	}
	d := &volDriver{base: strings.TrimRight(u.String(), "/"), token: token, client: &http.Client{Timeout: timeout},
		symbols: symbols, events: events, active: make([]bool, len(events)), applied: map[string]float64{},
		jobs: make(chan volJob, volQueueMax), done: make(chan struct{}), stderr: stderr}
	go d.run()
	return d, nil
}

// fired handles a volatility spike's boundary (other kinds are ignored).
func (d *volDriver) fired(f itchgen.Fired) {
	if f.Event.Kind != itchgen.EventVolSpike {
		return
	}
	d.active[f.Index] = !f.End
	syms := f.Event.Symbols
	if len(syms) == 0 {
		syms = d.symbols
	}
	for _, sym := range syms {
		scale := 1.0
		for i, e := range d.events {
			if d.active[i] && e.Kind == itchgen.EventVolSpike && (len(e.Symbols) == 0 || contains(e.Symbols, sym)) {
				scale *= e.Factor
			}
		}
		d.enqueue(sym, scale)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (d *volDriver) enqueue(sym string, scale float64) {
	if cur, ok := d.applied[sym]; (ok && cur == scale) || (!ok && scale == 1) {
		return
	}
	select {
	case d.jobs <- volJob{symbol: sym, scale: scale}:
		d.applied[sym] = scale
	default:
		d.fail(fmt.Errorf("%s: %d updates already queued", sym, volQueueMax))
	}
}

func (d *volDriver) fail(err error) {
	d.mu.Lock()
	d.failures++
	d.mu.Unlock()
	fmt.Fprintf(d.stderr, "ballast-sim: volatility update: %v\n", err)
}

func (d *volDriver) run() {
	defer close(d.done)
	unknown := map[string]bool{}
	for j := range d.jobs {
		if unknown[j.symbol] {
			d.mu.Lock()
			d.skipped++
			d.mu.Unlock()
			continue
		}
		known, err := d.put(j)
		if err != nil {
			d.fail(err)
			continue
		}
		d.mu.Lock()
		if known {
			d.updates++
		} else {
			d.skipped++
			unknown[j.symbol] = true
			fmt.Fprintf(d.stderr, "ballast-sim: volatility spike: %s is not an underlying of the appliance; skipped\n", j.symbol)
		}
		d.mu.Unlock()
	}
}

// put sends one update; known is false when the appliance has no such
// underlying (404).
func (d *volDriver) put(j volJob) (known bool, err error) {
	body, err := json.Marshal(map[string]float64{"atm_scale": j.scale})
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.client.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut,
		d.base+"/v1/underlyings/"+url.PathEscape(j.symbol)+"/vol", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("%s x%g: %w", j.symbol, j.scale, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, volBodyBytesMax))
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Error == "unknown underlying" {
			return false, nil
		}
	}
	return false, fmt.Errorf("%s x%g: %s: %s", j.symbol, j.scale, resp.Status, bytes.TrimSpace(msg))
}

// Close restores every symbol still scaled, waits for the queue to drain and
// returns the updates made, skipped (unknown symbols) and failed.
func (d *volDriver) Close() (updates, skipped, failures uint64) {
	syms := make([]string, 0, len(d.applied))
	for sym, scale := range d.applied {
		if scale != 1 {
			syms = append(syms, sym)
		}
	}
	sort.Strings(syms)
	for _, sym := range syms {
		d.enqueue(sym, 1)
	}
	close(d.jobs)
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.updates, d.skipped, d.failures
}
