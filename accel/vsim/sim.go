// Package vsim runs the risk-kernel RTL under Verilator as a device (DESIGN
// §3, docs/accel.md §6). It creates the shared-memory file, launches the C++
// harness (hdl/sim/, built into hdl/build/ballast-vsim by `make hdl`) on it,
// supervises the process, and exposes the device the way the fpga backend
// exposes real hardware: a BAR (Mailbox, whose register accesses become
// AXI4-Lite transactions on the RTL's slave port) and host memory (Memory,
// which the RTL's DMA master reaches at Memory().IOVA()). The driver
// (accel/driver) runs unchanged on top.
//
// Syscalls on shared memory go through accel/internal/mmio; this package has
// no unsafe code.
package vsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for a zero Config.
const (
	// DefaultMemBytes is the host-memory region when Config.MemBytes is 0.
	DefaultMemBytes = 64 << 20
	// DefaultStartTimeout bounds the wait for state running.
	DefaultStartTimeout = 20 * time.Second
	// DefaultRequestTimeout bounds one mailbox request.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultHeartbeatTimeout is how long a heartbeat may stand still
	// before the simulator counts as dead (it beats every millisecond).
	DefaultHeartbeatTimeout = 2 * time.Second
	// DefaultStopGrace is how long Close waits after setting stop before
	// it kills the process.
	DefaultStopGrace = 3 * time.Second
	// pollEvery is the supervisor's heartbeat check period and the
	// start-up poll period.
	pollEvery = 5 * time.Millisecond
	// stderrLines is how many trailing lines of the simulator's output a
	// DeathError carries.
	stderrLines = 20
	// shmPrefix names the files this package creates.
	shmPrefix = "ballast-vsim-"
)

// Config configures a simulator. The zero value is usable.
type Config struct {
	// Binary is the harness; "" means $BALLAST_VSIM, else
	// hdl/build/ballast-vsim under the module root (DefaultBinary).
	Binary string
	// ShmDir holds the shared-memory file; "" means /dev/shm where it
	// exists, else os.TempDir().
	ShmDir string
	// MemBytes is the host-memory region (0: DefaultMemBytes).
	MemBytes int
	// MemLatencyCycles is the modelled DMA read latency.
	MemLatencyCycles uint32
	// StallPermille is the DMA back-pressure probability ×1000.
	StallPermille uint32
	// Seed seeds the back-pressure PRNG (0: the harness's default, 1).
	Seed uint64
	// Trace writes an FST waveform there (needs the tracing build).
	Trace string
	// MaxCycles stops the simulator after that many cycles (0: never).
	MaxCycles uint64
	// IdleCycles is the quiet spell before the harness sleeps: 0 the
	// harness default (10,000 cycles), negative never.
	IdleCycles int
	// StartTimeout, RequestTimeout, HeartbeatTimeout and StopGrace: 0
	// takes the Default… value.
	StartTimeout     time.Duration
	RequestTimeout   time.Duration
	HeartbeatTimeout time.Duration
	StopGrace        time.Duration
	// Stderr, when set, also receives the simulator's output.
	Stderr io.Writer
	// Dir is the simulator's working directory ("": this process's).
	Dir string
	// Args are extra harness arguments; Env extra environment entries.
	Args []string
	Env  []string
}

func (c *Config) withDefaults() {
	if c.MemBytes == 0 {
		c.MemBytes = DefaultMemBytes
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.ShmDir == "" {
		c.ShmDir = os.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			c.ShmDir = "/dev/shm"
		}
	}
}

// DeathError reports a simulator that is gone or useless, with what its
// process said last. errors.Is(err, ErrSimDead) holds.
type DeathError struct {
	// PID is the simulator's process id.
	PID int
	// Reason says what was detected: "exited", "heartbeat stalled …",
	// "failed to start …".
	Reason string
	// Status is the process's exit status ("exit status 3", "signal:
	// killed"); "" if it had not exited when detected.
	Status string
	// ExitCode is the exit code, -1 when killed by a signal or unknown.
	ExitCode int
	// Stderr holds the last lines of its output.
	Stderr []string
}

func (e *DeathError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vsim: simulator pid %d %s", e.PID, e.Reason)
	if e.Status != "" {
		fmt.Fprintf(&b, " (%s)", e.Status)
	}
	if n := len(e.Stderr); n > 0 {
		last := e.Stderr[max(0, n-4):]
		fmt.Fprintf(&b, "; its output ended: %s", strings.Join(last, " | "))
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrSimDead) true.
func (e *DeathError) Unwrap() error { return ErrSimDead }

// proc is one simulator process.
type proc struct {
	cmd      *exec.Cmd
	out      *tailWriter
	exited   chan struct{} // closed once the process has been reaped
	supDone  chan struct{} // closed when the supervisor returns
	stopping atomic.Bool   // Close or Restart asked it to stop
	dead     atomic.Pointer[DeathError]
	waitErr  error // valid after exited
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// declare records the first detected death.
func (p *proc) declare(reason string) *DeathError {
	d := &DeathError{PID: p.pid(), Reason: reason, ExitCode: -1, Stderr: p.out.Lines()}
	select {
	case <-p.exited:
		if st := p.cmd.ProcessState; st != nil {
			d.Status = st.String()
			d.ExitCode = st.ExitCode()
		} else if p.waitErr != nil {
			d.Status = p.waitErr.Error()
		}
	default:
	}
	if p.dead.CompareAndSwap(nil, d) {
		return d
	}
	return p.dead.Load()
}

// Sim is a running simulator and its shared-memory file.
type Sim struct {
	cfg  Config
	bin  string
	file *File
	mbox *Mailbox

	mu     sync.Mutex // serialises Restart and Close
	closed bool
	cur    atomic.Pointer[proc]
}

// Start creates the shared-memory file, launches the harness on it and waits
// (at most StartTimeout, and while ctx lives) until it reports running. ctx
// bounds the start only; the simulator then lives until Close.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	cfg.withDefaults()
	if cfg.MemLatencyCycles > MemLatencyCyclesMax || cfg.StallPermille > StallPermilleMax {
		return nil, fmt.Errorf("vsim: DMA latency %d cycles / stall %d‰ out of range (≤ %d, ≤ %d)",
			cfg.MemLatencyCycles, cfg.StallPermille, MemLatencyCyclesMax, StallPermilleMax)
	}
	bin, err := resolveBinary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	if err := checkBinary(bin); err != nil {
		return nil, err
	}
	removeStale(cfg.ShmDir)
	file, err := createUnique(cfg.ShmDir, FileParams{
		MemBytes: cfg.MemBytes, MemLatencyCycles: cfg.MemLatencyCycles, StallPermille: cfg.StallPermille,
	})
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, bin: bin, file: file}
	s.mbox = newMailbox(file.hdr, file.bar, s.alive, cfg.RequestTimeout, cfg.HeartbeatTimeout)
	if err := s.launch(ctx); err != nil {
		s.mbox.close()
		_ = file.Close()
		return nil, err
	}
	return s, nil
}

var shmSeq atomic.Uint64

func createUnique(dir string, p FileParams) (*File, error) {
	var err error
	for range 16 {
		name := fmt.Sprintf("%s%d-%x-%d.shm", shmPrefix, os.Getpid(), time.Now().UnixNano()&0xFFFFFF, shmSeq.Add(1))
		var f *File
		f, err = CreateFile(filepath.Join(dir, name), p)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
	}
	return nil, err
}

// removeStale deletes shared-memory files left by processes that no longer
// exist (a crashed parent cannot remove its own).
func removeStale(dir string) {
	names, err := filepath.Glob(filepath.Join(dir, shmPrefix+"*.shm"))
	if err != nil {
		return
	}
	for _, n := range names {
		rest := strings.TrimPrefix(filepath.Base(n), shmPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.Remove(n)
		}
	}
}

func (s *Sim) args() []string {
	a := []string{"--shm", s.file.Path()}
	if s.cfg.Seed != 0 {
		a = append(a, "--seed", strconv.FormatUint(s.cfg.Seed, 10))
	}
	if s.cfg.Trace != "" {
		a = append(a, "--trace", s.cfg.Trace)
	}
	if s.cfg.MaxCycles != 0 {
		a = append(a, "--max-cycles", strconv.FormatUint(s.cfg.MaxCycles, 10))
	}
	switch {
	case s.cfg.IdleCycles < 0:
		a = append(a, "--idle-cycles", "0")
	case s.cfg.IdleCycles > 0:
		a = append(a, "--idle-cycles", strconv.Itoa(s.cfg.IdleCycles))
	}
	return append(a, s.cfg.Args...)
}

// launch starts a process on the (fresh) file and waits for state running.
func (s *Sim) launch(ctx context.Context) error {
	out := newTailWriter(stderrLines, s.cfg.Stderr)
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Dir = s.cfg.Dir
	if len(s.cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), s.cfg.Env...)
	}
	// Its own process group: a terminal's Ctrl-C reaches the parent,
	// which stops the simulator in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vsim: start %s: %w", s.bin, err)
	}
	p := &proc{cmd: cmd, out: out, exited: make(chan struct{}), supDone: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	s.cur.Store(p)
	go s.supervise(p)

	timer := time.NewTimer(s.cfg.StartTimeout)
	defer timer.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if State(s.file.load32(offState)) == StateRunning && int(s.file.load32(offSimPID)) == p.pid() {
			return nil
		}
		select {
		case <-p.exited:
			<-p.supDone
			// A short run (--max-cycles) may be over before a poll saw it
			// running: a clean stop of this process counts as a start.
			if st := p.cmd.ProcessState; st != nil && st.Success() &&
				State(s.file.load32(offState)) == StateStopped && int(s.file.load32(offSimPID)) == p.pid() {
				return nil
			}
			return p.dead.Load()
		case <-ctx.Done():
			s.stop(p, 0)
			return fmt.Errorf("vsim: start cancelled: %w", ctx.Err())
		case <-timer.C:
			d := p.declare(fmt.Sprintf("did not reach state running in %v (state %v)",
				s.cfg.StartTimeout, State(s.file.load32(offState))))
			s.stop(p, 0)
			return fmt.Errorf("%w: %w", ErrTimeout, d)
		case <-tick.C:
		}
	}
}

// supervise watches one process: its exit, and once it runs, its heartbeat.
// A stalled simulator is killed, so that it exits and frees its core.
func (s *Sim) supervise(p *proc) {
	defer close(p.supDone)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var (
		hbLast uint64
		hbAt   time.Time
	)
	for {
		select {
		case <-p.exited:
			reason := "exited"
			if p.stopping.Load() {
				reason = "stopped on request"
			}
			p.declare(reason)
			return
		case now := <-tick.C:
			if p.stopping.Load() || p.dead.Load() != nil ||
				State(s.file.load32(offState)) != StateRunning {
				hbAt = time.Time{}
				continue
			}
			hb := s.file.load64(offHeartbeat)
			if hbAt.IsZero() || hb != hbLast {
				hbLast, hbAt = hb, now
				continue
			}
			if stall := now.Sub(hbAt); stall > s.cfg.HeartbeatTimeout {
				// Kill it, and give the report its exit status when the
				// reaping is prompt (it is, after SIGKILL).
				_ = p.cmd.Process.Kill()
				t := time.NewTimer(time.Second)
				select {
				case <-p.exited:
				case <-t.C:
				}
				t.Stop()
				p.declare(fmt.Sprintf("heartbeat stalled at %d for %v; killed", hb, stall.Round(time.Millisecond)))
			}
		}
	}
}

// alive is the mailbox's liveness check: the current process's death, if
// detected.
func (s *Sim) alive() error {
	if p := s.cur.Load(); p != nil {
		if d := p.dead.Load(); d != nil {
			return d
		}
	}
	return nil
}

// stop asks p to exit through the stop flag, kills it after grace (0: at
// once) and reaps it.
func (s *Sim) stop(p *proc, grace time.Duration) {
	p.stopping.Store(true)
	select {
	case <-p.exited:
	default:
		if grace > 0 {
			s.file.RequestStop()
			t := time.NewTimer(grace)
			select {
			case <-p.exited:
			case <-t.C:
			}
			t.Stop()
		}
		_ = p.cmd.Process.Kill() // harmless when it has exited but not been reaped
		<-p.exited
	}
	<-p.supDone
}

// Bar is the device's BAR0.
func (s *Sim) Bar() *Mailbox { return s.mbox }

// Memory is the host-memory region the device reaches by DMA; it is
// unmapped by Close.
func (s *Sim) Memory() *Memory { return s.file.Memory() }

// Path is the shared-memory file.
func (s *Sim) Path() string { return s.file.Path() }

// PID is the current simulator process id.
func (s *Sim) PID() int { return s.cur.Load().pid() }

// Cycles is the simulated clock cycles as of the last heartbeat (about a
// millisecond old); the ID block's cycle counter is exact.
func (s *Sim) Cycles() uint64 { return s.file.load64(offCycles) }

// IRQCount counts rising edges of the device's interrupt line.
func (s *Sim) IRQCount() uint32 { return s.file.load32(offIRQCount) }

// Heartbeat is the simulator's heartbeat counter.
func (s *Sim) Heartbeat() uint64 { return s.file.load64(offHeartbeat) }

// State is the simulator's state in the header.
func (s *Sim) State() State { return State(s.file.load32(offState)) }

// Err is nil while the simulator is healthy, else the *DeathError.
func (s *Sim) Err() error { return s.alive() }

// Done is closed when the current simulator process has exited.
func (s *Sim) Done() <-chan struct{} { return s.cur.Load().exited }

// Wait blocks until the current simulator process exits. It returns nil for
// an exit with status 0 (after Close, a stop request or --max-cycles), else
// the *DeathError.
func (s *Sim) Wait() error {
	p := s.cur.Load()
	<-p.exited
	<-p.supDone
	if st := p.cmd.ProcessState; st != nil && st.Success() {
		return nil
	}
	return p.dead.Load()
}

// Restart stops the current simulator (stop flag, then a kill after the
// grace period), writes a fresh header into the same file and starts a new
// one; host memory keeps its contents, the device starts from reset. Callers
// waiting in the mailbox get ErrSimDead meanwhile.
func (s *Sim) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.stop(s.cur.Load(), s.cfg.StopGrace)
	s.mbox.mu.Lock()
	err := s.file.Reset()
	s.mbox.resetLocked()
	s.mbox.mu.Unlock()
	if err != nil {
		return err
	}
	return s.launch(ctx)
}

// Close stops the simulator (stop flag, then a kill after the grace period),
// unmaps and removes the file. Later calls on the Mailbox fail with
// ErrSimDead; Memory's bytes must not be touched after it. It returns nil
// when the simulator stopped with status 0 or had already died (see Err).
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	p := s.cur.Load()
	s.stop(p, s.cfg.StopGrace)
	s.mbox.close()
	ferr := s.file.Close()
	if st := p.cmd.ProcessState; st != nil && !st.Success() && p.stopping.Load() && p.dead.Load().Reason == "stopped on request" {
		return fmt.Errorf("vsim: simulator did not stop in order: %w", p.dead.Load())
	}
	return ferr
}
