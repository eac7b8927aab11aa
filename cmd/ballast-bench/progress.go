package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progressBarWidth is the bar's width in cells.
const progressBarWidth = 24

// progressRedraw is how often a terminal's bar is redrawn.
const progressRedraw = 250 * time.Millisecond

// Progress shows the harness's stages: on a terminal a bar redrawn in place
// (stage, its share done, elapsed time, the run's ETA), elsewhere one line
// as each stage starts and ends. Each stage has an estimated duration; the
// share done is the stage's own report when it gives one, else its elapsed
// time over its estimate (at most 99 %).
type Progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu       sync.Mutex
	start    time.Time
	stages   []stageEst // every stage, planned up front
	cur      int        // index of the running stage (-1: none)
	curStart time.Time
	frac     float64 // the running stage's reported share (-1: none)
	doneSec  float64 // actual seconds of the finished stages
	stop     chan struct{}
	stopped  chan struct{}
}

type stageEst struct {
	name string
	est  time.Duration
}

// NewProgress returns a Progress writing to w; tty selects the bar. now is
// the clock (nil: time.Now).
func NewProgress(w io.Writer, tty bool, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	return &Progress{w: w, tty: tty, now: now, cur: -1, frac: -1}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Plan adds a stage with its estimated duration; call it for every stage
// before the first Begin.
func (p *Progress) Plan(name string, est time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stages = append(p.stages, stageEst{name: name, est: est})
}

// Begin starts the next planned stage (its name is checked against the
// plan's, so a mismatch shows up in tests rather than as a wrong ETA).
func (p *Progress) Begin(name string) {
	p.mu.Lock()
	now := p.now()
	if p.start.IsZero() {
		p.start = now
		if p.tty {
			p.stop, p.stopped = make(chan struct{}), make(chan struct{})
			go p.redraw(p.stop)
		}
	}
	p.cur++
	if p.cur >= len(p.stages) || p.stages[p.cur].name != name {
		panic(fmt.Sprintf("ballast-bench: stage %q begun out of plan", name))
	}
	p.curStart, p.frac = now, -1
	line := p.renderLocked(now)
	p.mu.Unlock()
	p.emit(line, false)
}

// Set reports the running stage's share done (0..1).
func (p *Progress) Set(frac float64) {
	p.mu.Lock()
	p.frac = min(max(frac, 0), 1)
	p.mu.Unlock()
}

// End finishes the running stage.
func (p *Progress) End() {
	p.mu.Lock()
	now := p.now()
	d := now.Sub(p.curStart)
	p.doneSec += d.Seconds()
	name := p.stages[p.cur].name
	p.frac = 1
	line := p.renderLocked(now)
	p.mu.Unlock()
	if p.tty {
		p.emit(line, false)
		return
	}
	fmt.Fprintf(p.w, "bench: done %s in %s\n", name, d.Round(time.Millisecond))
}

// Close stops the redraw and ends the bar's line.
func (p *Progress) Close() {
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-p.stopped
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) redraw(stop <-chan struct{}) {
	defer close(p.stopped)
	t := time.NewTicker(progressRedraw)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			p.mu.Lock()
			line := p.renderLocked(p.now())
			p.mu.Unlock()
			p.emit(line, true)
		}
	}
}

func (p *Progress) emit(line string, redraw bool) {
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K"+line)
		return
	}
	if !redraw {
		fmt.Fprintln(p.w, "bench: "+line)
	}
}

// stageFrac is the running stage's share done at now.
func (p *Progress) stageFrac(now time.Time) float64 {
	if p.frac >= 0 {
		return p.frac
	}
	est := p.stages[p.cur].est
	if est <= 0 {
		return 0
	}
	return min(0.99, now.Sub(p.curStart).Seconds()/est.Seconds())
}

// renderLocked is the progress line at now (p.mu held).
func (p *Progress) renderLocked(now time.Time) string {
	if p.cur < 0 {
		return ""
	}
	st := p.stages[p.cur]
	f := p.stageFrac(now)
	cells := int(f * progressBarWidth)
	bar := strings.Repeat("#", cells) + strings.Repeat(".", progressBarWidth-cells)
	elapsed := now.Sub(p.start)
	// ETA: the running stage's remaining share of its estimate (or of its
	// pace, once it is over its estimate) and the later stages' estimates.
	cur := now.Sub(p.curStart).Seconds()
	remain := (1 - f) * st.est.Seconds()
	if f > 0 && cur/f > st.est.Seconds() {
		remain = cur/f - cur
	}
	for _, s := range p.stages[p.cur+1:] {
		remain += s.est.Seconds()
	}
	return fmt.Sprintf("[%d/%d] %-28s [%s] %3.0f%%  elapsed %s  ETA %s", p.cur+1, len(p.stages), st.name, bar, f*100,
		clock(elapsed), clock(time.Duration(remain*float64(time.Second))))
}

// clock formats d as m:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
