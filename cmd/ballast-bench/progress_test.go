package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestProgressRendering(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	p := NewProgress(&buf, false, clk.now)
	p.Plan("epoch", 10*time.Second)
	p.Plan("load", 20*time.Second)
	p.Begin("epoch")
	if got := buf.String(); !strings.HasPrefix(got, "bench: [1/2] epoch") || !strings.Contains(got, "ETA 0:30") {
		t.Fatalf("first line %q", got)
	}
	clk.advance(5 * time.Second)
	line := p.renderLocked(clk.now())
	for _, want := range []string{"[1/2] epoch", "[############............]", " 50%", "elapsed 0:05", "ETA 0:25"} {
		if !strings.Contains(line, want) {
			t.Errorf("at 5 s: %q lacks %q", line, want)
		}
	}
	// A reported share overrides the estimate; a slow stage's ETA follows
	// its pace.
	clk.advance(5 * time.Second)
	p.Set(0.25)
	line = p.renderLocked(clk.now())
	for _, want := range []string{"[######..................]", " 25%", "elapsed 0:10", "ETA 0:50"} {
		if !strings.Contains(line, want) {
			t.Errorf("at 10 s, 25 %%: %q lacks %q", line, want)
		}
	}
	// Past its estimate without a report, a stage stays under 100 %.
	clk.advance(30 * time.Second)
	p.Set(-1) // clamps to 0: no news
	p.mu.Lock()
	p.frac = -1
	p.mu.Unlock()
	if line = p.renderLocked(clk.now()); !strings.Contains(line, " 99%") {
		t.Errorf("overdue stage: %q", line)
	}
	buf.Reset()
	p.End()
	if got := buf.String(); got != "bench: done epoch in 40s\n" {
		t.Fatalf("end line %q", got)
	}
	p.Begin("load")
	clk.advance(time.Second)
	if line = p.renderLocked(clk.now()); !strings.Contains(line, "[2/2] load") || !strings.Contains(line, "elapsed 0:41") || !strings.Contains(line, "ETA 0:19") {
		t.Errorf("second stage: %q", line)
	}
	p.End()
	p.Close()
	// Stages must follow the plan.
	defer func() {
		if recover() == nil {
			t.Fatal("a stage out of plan did not panic")
		}
	}()
	p.Begin("extra")
}

func TestProgressTerminal(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var buf bytes.Buffer
	p := NewProgress(&buf, true, clk.now)
	p.Plan("feed", time.Second)
	p.Begin("feed")
	clk.advance(time.Second)
	p.End()
	p.Close()
	out := buf.String()
	if !strings.HasPrefix(out, "\r\x1b[K[1/1] feed") || !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("terminal output %q", out)
	}
	if strings.Contains(out, "bench: done") {
		t.Fatalf("plain lines on a terminal: %q", out)
	}
}
