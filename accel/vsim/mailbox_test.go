package vsim

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// mailboxRig is a mailbox and an in-process responder on one mapped file.
type mailboxRig struct {
	file *File
	mbox *Mailbox
	resp *responder
	stop chan struct{}
	done chan struct{}
}

func newRig(t testing.TB, timeout, hbTimeout time.Duration, alive func() error) *mailboxRig {
	t.Helper()
	f, err := CreateFile(filepath.Join(t.TempDir(), "rig.shm"), FileParams{MemBytes: MemBytesMin})
	if err != nil {
		t.Fatal(err)
	}
	r := &mailboxRig{
		file: f,
		mbox: newMailbox(f.hdr, f.bar, alive, timeout, hbTimeout),
		resp: newResponder(f.hdr, f.bar),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	t.Cleanup(func() {
		r.halt()
		r.mbox.close()
		f.Close()
	})
	return r
}

func (r *mailboxRig) start() *mailboxRig {
	go func() {
		defer close(r.done)
		r.resp.run(func() bool {
			select {
			case <-r.stop:
				return true
			default:
				return false
			}
		})
	}()
	return r
}

func (r *mailboxRig) halt() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
	}
}

func TestMailboxReadAfterWriteInOrderAcrossWrap(t *testing.T) {
	rig := newRig(t, 5*time.Second, 2*time.Second, nil)
	rig.resp.record = true
	rig.start()
	m := rig.mbox
	var want []access
	// 1000 requests wrap the 64 slots many times; reads interleave writes.
	for i := uint32(0); i < 500; i++ {
		off := (i % 200) * 4
		if err := m.Write32(off, i*7+1); err != nil {
			t.Fatal(err)
		}
		want = append(want, access{write: true, off: off, value: i*7 + 1})
		if i%5 == 4 {
			v, err := m.Read32(off)
			if err != nil {
				t.Fatal(err)
			}
			// The read flushed the write just before it.
			if v != i*7+1 {
				t.Fatalf("read %#x after writing %d: got %d", off, i*7+1, v)
			}
			want = append(want, access{off: off, value: v})
		}
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	got := rig.resp.accesses()
	if len(got) != len(want) {
		t.Fatalf("responder saw %d accesses, posted %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("access %d: responder saw %+v, posted %+v", i, got[i], want[i])
		}
	}
	st := m.Stats()
	if st.Writes != 500 || st.Reads != 100 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMailboxFullWaitsForSlot(t *testing.T) {
	rig := newRig(t, 100*time.Millisecond, 5*time.Second, nil).start()
	rig.resp.pause()
	m := rig.mbox
	for i := range uint32(MailboxSlots) {
		if err := m.Write32(i*4, i); err != nil {
			t.Fatalf("write %d into a mailbox with room: %v", i, err)
		}
	}
	// The 65th request finds every slot busy and times out while the
	// responder is frozen but heartbeating.
	if err := m.Write32(0x400, 1); !errors.Is(err, ErrTimeout) {
		t.Fatalf("write into a full mailbox: %v, want ErrTimeout", err)
	}
	rig.resp.freeze.Store(false)
	if err := m.Write32(0x400, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := m.Read32(0x400); err != nil || v != 1 {
		t.Fatalf("read after unfreeze: %d, %v", v, err)
	}
	if v, err := m.Read32(63 * 4); err != nil || v != 63 {
		t.Fatalf("read slot-63 register: %d, %v", v, err)
	}
	if st := m.Stats(); st.FullWaits < 1 {
		t.Fatalf("FullWaits %d, want ≥ 1", st.FullWaits)
	}
}

func TestMailboxReadTimesOutWhenResponderStops(t *testing.T) {
	rig := newRig(t, 50*time.Millisecond, 5*time.Second, nil).start()
	rig.resp.pause()
	start := time.Now()
	_, err := rig.mbox.Read32(0x1C)
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrSimDead) {
		t.Fatalf("read from a frozen responder: %v, want ErrTimeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("time-out took far longer than configured")
	}
	// The late answer is absorbed; the mailbox goes on working.
	rig.resp.freeze.Store(false)
	if err := rig.mbox.Write32(0x1C, 5); err != nil {
		t.Fatal(err)
	}
	if v, err := rig.mbox.Read32(0x1C); err != nil || v != 5 {
		t.Fatalf("read after recovery: %d, %v", v, err)
	}
}

func TestMailboxHeartbeatStallIsDeath(t *testing.T) {
	rig := newRig(t, 10*time.Second, 100*time.Millisecond, nil).start()
	if err := rig.mbox.Write32(0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.mbox.Read32(0); err != nil {
		t.Fatal(err)
	}
	rig.resp.pause()
	rig.resp.noBeat.Store(true)
	_, err := rig.mbox.Read32(0)
	if !errors.Is(err, ErrSimDead) {
		t.Fatalf("read with a stalled heartbeat: %v, want ErrSimDead", err)
	}
}

func TestMailboxKnownDeathEndsWait(t *testing.T) {
	dead := errors.New("the process exited")
	var mu sync.Mutex
	var aliveErr error
	rig := newRig(t, 10*time.Second, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		return aliveErr
	}).start()
	rig.resp.pause()
	go func() {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		aliveErr = dead
		mu.Unlock()
	}()
	if _, err := rig.mbox.Read32(0); !errors.Is(err, dead) {
		t.Fatalf("read while the simulator dies: %v", err)
	}
}

func TestMailboxBusErrors(t *testing.T) {
	rig := newRig(t, 5*time.Second, 5*time.Second, nil)
	rig.resp.errFrom = 0x8000
	rig.start()
	m := rig.mbox
	_, err := m.Read32(0x8000)
	var be *BusError
	if !errors.As(err, &be) || be.Resp != respSlverr || be.Write || be.Posted || !errors.Is(err, ErrBus) {
		t.Fatalf("read of an erroring register: %v", err)
	}
	// A failed posted write is reported by the next read, once.
	if err := m.Write32(0x8004, 1); err != nil {
		t.Fatalf("posted write returns before its answer: %v", err)
	}
	if err := m.Write32(0x10, 2); err != nil {
		t.Fatal(err)
	}
	v, err := m.Read32(0x10)
	if !errors.As(err, &be) || !be.Posted || !be.Write || be.Offset != 0x8004 || v != 2 {
		t.Fatalf("read after a failed write: %d, %v", v, err)
	}
	if _, err := m.Read32(0x10); err != nil {
		t.Fatalf("error reported twice: %v", err)
	}
	if err := m.Write32(0x8008, 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(); !errors.As(err, &be) || be.Offset != 0x8008 {
		t.Fatalf("Flush after a failed write: %v", err)
	}
	if err := m.Flush(); err != nil {
		t.Fatalf("second Flush: %v", err)
	}
	if st := m.Stats(); st.PostedErrors != 2 {
		t.Fatalf("PostedErrors %d", st.PostedErrors)
	}
}

func TestMailboxRefusesBadOffsets(t *testing.T) {
	rig := newRig(t, time.Second, time.Second, nil).start()
	for _, off := range []uint32{1, 2, 0x1002, Bar0Bytes, Bar0Bytes + 4, ^uint32(0)} {
		if _, err := rig.mbox.Read32(off); !errors.Is(err, ErrOffset) {
			t.Errorf("Read32(%#x): %v", off, err)
		}
		if err := rig.mbox.Write32(off, 0); !errors.Is(err, ErrOffset) {
			t.Errorf("Write32(%#x): %v", off, err)
		}
	}
	if n := rig.resp.served.Load(); n != 0 {
		t.Fatalf("bad offsets reached the responder: %d requests", n)
	}
}

func TestMailboxConcurrentUsers(t *testing.T) {
	rig := newRig(t, 5*time.Second, 2*time.Second, nil).start()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range uint32(4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := 0x100 + g*4
			for i := range uint32(300) {
				if err := rig.mbox.Write32(off, g<<16|i); err != nil {
					errs <- err
					return
				}
				v, err := rig.mbox.Read32(off)
				if err != nil {
					errs <- err
					return
				}
				if v != g<<16|i {
					errs <- errors.New("a goroutine read another's value")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestMailboxClosed(t *testing.T) {
	rig := newRig(t, time.Second, time.Second, nil).start()
	rig.mbox.close()
	if _, err := rig.mbox.Read32(0); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Read32 after close: %v", err)
	}
	if err := rig.mbox.Write32(0, 0); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Write32 after close: %v", err)
	}
	if err := rig.mbox.Flush(); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Flush after close: %v", err)
	}
}

func TestMailboxZeroAllocs(t *testing.T) {
	rig := newRig(t, 5*time.Second, 2*time.Second, nil).start()
	m := rig.mbox
	if n := testing.AllocsPerRun(200, func() {
		if err := m.Write32(0x1C, 3); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Write32 allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(200, func() {
		if _, err := m.Read32(0x1C); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Read32 allocates %.1f times", n)
	}
}

// BenchmarkMailboxRead32InProcess is the round trip of a register read
// through the shared mapping to a Go responder goroutine: the floor of the
// mailbox protocol's cost, without Verilator.
func BenchmarkMailboxRead32InProcess(b *testing.B) {
	rig := newRig(b, 5*time.Second, 2*time.Second, nil).start()
	m := rig.mbox
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Read32(0x1C); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkMailboxWrite32InProcess is posted-write throughput, flushed at
// the end.
func BenchmarkMailboxWrite32InProcess(b *testing.B) {
	rig := newRig(b, 5*time.Second, 2*time.Second, nil).start()
	m := rig.mbox
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Write32(0x1C, 1); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
