package driver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/driver/devmodel"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/engine/scenario"
)

// open starts a model and opens the driver on it; both close at cleanup.
func open(t testing.TB, cfg driver.Config, opts ...devmodel.Option) (*driver.Device, *devmodel.Model) {
	t.Helper()
	m, err := devmodel.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := driver.Open(m, m, cfg)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Errorf("model Close: %v", err)
		}
	})
	return d, m
}

// pattern is n deterministic bytes for job i.
func pattern(i, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i*131 + k*7 + k>>8)
	}
	return b
}

// waitFor polls cond (bounded) and fails the test when it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 4000; i++ {
		if cond() {
			return
		}
		time.Sleep(500 * time.Microsecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func inFlight(t *testing.T, d *driver.Device) int {
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.InFlight
}

func TestSelfTestPhiloxMatchesReference(t *testing.T) {
	d, _ := open(t, driver.Config{})
	ctx := context.Background()
	for _, c := range []struct {
		key, ctr0, ctr1 uint64
		blocks          int
	}{
		{0, 0, 0, 1},
		{0x0123456789ABCDEF, 42, 7, 64},
		{0xFFFFFFFFFFFFFFFF, 0x00000005FFFFFFF0, 0xDEADBEEFCAFEF00D, 40}, // lo32(ctr0)+j wraps without carry
		{1, 1 << 40, 3, 1000},
	} {
		got, err := d.SelfTestPhilox(ctx, c.key, c.ctr0, c.ctr1, c.blocks)
		if err != nil {
			t.Fatalf("SelfTestPhilox(%+v): %v", c, err)
		}
		if len(got) != c.blocks {
			t.Fatalf("%d blocks, want %d", len(got), c.blocks)
		}
		key := [2]uint32{uint32(c.key), uint32(c.key >> 32)}
		for j, blk := range got {
			ctr := [4]uint32{uint32(c.ctr0) + uint32(j), uint32(c.ctr0 >> 32), uint32(c.ctr1), uint32(c.ctr1 >> 32)}
			if want := scenario.Philox4x32(ctr, key); blk != want {
				t.Fatalf("case %+v block %d = %08x, want %08x", c, j, blk, want)
			}
		}
	}
	// The Random123 known-answer vector: key 0, counter 0.
	got, err := d.SelfTestPhilox(ctx, 0, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}; got[0] != want {
		t.Errorf("Philox(0, 0) = %08x, want %08x", got[0], want)
	}
	if _, err := d.SelfTestPhilox(ctx, 0, 0, 0, 0); !errors.Is(err, driver.ErrInvalidJob) {
		t.Errorf("0 blocks: %v, want ErrInvalidJob", err)
	}
}

func TestSelfTestCopyRoundTrips(t *testing.T) {
	d, _ := open(t, driver.Config{})
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 4095, 100_000} {
		in := pattern(n, n)
		out, err := d.SelfTestCopy(context.Background(), in)
		if err != nil {
			t.Fatalf("copy of %d bytes: %v", n, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("copy of %d bytes came back different", n)
		}
	}
}

func TestRingWrapAround(t *testing.T) {
	for _, c := range []struct{ entries, cpl int }{{2, 2}, {4, 4}, {16, 16}, {256, 256}, {8, 2}, {2, 8}} {
		t.Run(fmt.Sprintf("dq%d_cq%d", c.entries, c.cpl), func(t *testing.T) {
			d, _ := open(t, driver.Config{Entries: c.entries, CplEntries: c.cpl}, devmodel.WithMemory(1<<20, devmodel.DefaultIOVA))
			jobs := 5*c.entries + 3
			if jobs < 40 {
				jobs = 40
			}
			for i := 0; i < jobs; i++ {
				in := pattern(i, 8+8*(i%9))
				out, err := d.SelfTestCopy(context.Background(), in)
				if err != nil {
					t.Fatalf("job %d: %v", i, err)
				}
				if !bytes.Equal(out, in) {
					t.Fatalf("job %d: output differs", i)
				}
			}
			s, err := d.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if s.Completed != uint64(jobs) || s.JobsDone != uint32(jobs) || s.InFlight != 0 || s.ArenaBytesUsed != 0 {
				t.Errorf("stats %+v after %d jobs", s, jobs)
			}
		})
	}
}

// chainJob copies in through three buffers: copy(in→b1), copy(b1→b2),
// copy(b2→out).
func chainJob(in, out []byte) *driver.Job {
	n := len(in)
	return &driver.Job{
		Descs: []driver.Desc{
			{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: n}, Dst: driver.Ref{Buf: 1, Len: n}},
			{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 1, Len: n}, Dst: driver.Ref{Buf: 2, Len: n}},
			{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 2, Len: n}, Dst: driver.Ref{Buf: 3, Len: n}},
		},
		Bufs: []driver.Buffer{{Bytes: n, In: in}, {Bytes: n}, {Bytes: n}, {Bytes: n, Out: out}},
	}
}

func TestChainsWrapSmallRing(t *testing.T) {
	d, _ := open(t, driver.Config{Entries: 4, CplEntries: 2})
	for i := 0; i < 50; i++ {
		in := pattern(i, 256)
		out := make([]byte, 256)
		res, err := d.Submit(context.Background(), chainJob(in, out))
		if err != nil {
			t.Fatalf("chain %d: %v", i, err)
		}
		if res.N != 3 || !bytes.Equal(in, out) {
			t.Fatalf("chain %d: N %d, output equal %v", i, res.N, bytes.Equal(in, out))
		}
		for k := 0; k < 3; k++ {
			if c := res.Completions[k]; c.Status != 0 || c.OutBytes != 256 || c.Desc != uint32(3*i+k) || c.Tag != res.Tag {
				t.Fatalf("chain %d completion %d: %+v", i, k, c)
			}
		}
	}
	// A chain longer than the ring can never run.
	d2, _ := open(t, driver.Config{Entries: 2})
	if _, err := d2.Submit(context.Background(), chainJob(make([]byte, 8), nil)); !errors.Is(err, driver.ErrInvalidJob) {
		t.Errorf("3-descriptor chain on a 2-entry ring: %v, want ErrInvalidJob", err)
	}
}

func TestHandlerChainRiskShape(t *testing.T) {
	add := func(k byte) devmodel.Handler {
		return func(src, dst []byte, _ driver.Descriptor) (int, uint16) {
			for i := range src {
				dst[i] = src[i] + k
			}
			return len(src), regs.CodeOK
		}
	}
	d, _ := open(t, driver.Config{},
		devmodel.Handle(regs.OpScengen, add(1)), devmodel.Handle(regs.OpReval, add(10)), devmodel.Handle(regs.OpAggtail, add(100)))
	n := 64
	in, out := pattern(3, n), make([]byte, n)
	jb := &driver.Job{
		Descs: []driver.Desc{
			{Opcode: regs.OpScengen, Src: driver.Ref{Buf: 0, Len: n}, Dst: driver.Ref{Buf: 1, Len: n}},
			{Opcode: regs.OpReval, Src: driver.Ref{Buf: 1, Len: n}, Dst: driver.Ref{Buf: 1, Off: n, Len: n}},
			{Opcode: regs.OpAggtail, Src: driver.Ref{Buf: 1, Off: n, Len: n}, Dst: driver.Ref{Buf: 2, Len: n}},
		},
		Bufs: []driver.Buffer{{Bytes: n, In: in}, {Bytes: 2 * n}, {Bytes: n, Out: out}},
	}
	if _, err := d.Submit(context.Background(), jb); err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i]+111 {
			t.Fatalf("byte %d = %d, want %d", i, out[i], in[i]+111)
		}
	}
	// GREEKS has no handler: the driver refuses it from ID_CAPS.
	_, err := d.Submit(context.Background(), &driver.Job{Descs: []driver.Desc{{Opcode: regs.OpGreeks}}})
	if !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("GREEKS without capability: %v, want ErrUnsupported", err)
	}
}

func TestArg0RefIsTheRangeAddress(t *testing.T) {
	var srcAddr, arg0, arg1 uint64
	d, _ := open(t, driver.Config{}, devmodel.Handle(regs.OpReval, func(_, _ []byte, ds driver.Descriptor) (int, uint16) {
		srcAddr, arg0, arg1 = ds.SrcAddr, ds.Arg0, ds.Arg1
		return 0, regs.CodeOK
	}))
	jb := &driver.Job{
		Descs: []driver.Desc{{Opcode: regs.OpReval, Src: driver.Ref{Buf: 0, Len: 64}, Dst: driver.Ref{Buf: 1, Len: 8},
			Arg0Ref: driver.Ref{Buf: 0, Off: 24, Len: 40}, Arg1: 7}},
		Bufs: []driver.Buffer{{Bytes: 64}, {Bytes: 8}},
	}
	if _, err := d.Submit(context.Background(), jb); err != nil {
		t.Fatal(err)
	}
	if srcAddr == 0 || arg0 != srcAddr+24 || arg1 != 7 {
		t.Errorf("src %#x, arg0 %#x, arg1 %d: want arg0 = src + 24, arg1 7", srcAddr, arg0, arg1)
	}
}

func TestDeviceErrorPropagatesAndNextJobRuns(t *testing.T) {
	d, m := open(t, driver.Config{Entries: 8})
	ctx := context.Background()
	// An opcode the interface does not define reaches the device.
	out := make([]byte, 8)
	_, err := d.Submit(ctx, &driver.Job{
		Descs: []driver.Desc{
			{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: 8}, Dst: driver.Ref{Buf: 1, Len: 8}},
			{Opcode: 0x7777, Arg0: 1},
		},
		Bufs: []driver.Buffer{{Bytes: 8, In: pattern(1, 8)}, {Bytes: 8, Out: out}},
	})
	var de *driver.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, driver.ErrDevice) {
		t.Fatalf("bad opcode: %v, want *DeviceError", err)
	}
	if de.Status != regs.CodeBadOpcode || de.Name != "BAD_OPCODE" || de.Pos != 1 || de.Opcode != 0x7777 || de.Desc != 1 {
		t.Errorf("DeviceError %+v", de)
	}
	if !bytes.Equal(out, make([]byte, 8)) {
		t.Errorf("outputs copied although the job failed")
	}
	if got, err := d.SelfTestCopy(ctx, []byte("after")); err != nil || string(got) != "after" {
		t.Fatalf("next job: %q, %v", got, err)
	}

	// FAULT_INJECT.DMA_READ fails exactly the next descriptor.
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectDMARead); err != nil {
		t.Fatal(err)
	}
	_, err = d.SelfTestCopy(ctx, []byte("x"))
	if !errors.As(err, &de) || de.Status != regs.CodeDMARead {
		t.Fatalf("injected DMA read: %v", err)
	}
	if _, err := d.SelfTestCopy(ctx, []byte("y")); err != nil {
		t.Fatalf("job after DMA_READ: %v", err)
	}
	// Misaligned buffers in a hand-made descriptor are the device's BAD_DESC;
	// the driver never makes one, so check the sticky ERROR bits instead.
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.DeviceErrors != 2 || s.Error != 1<<regs.ErrorBadOpcodeBit|1<<regs.ErrorDMAReadBit || s.Status&regs.StatusHalted != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTimeoutThenResetRecovers(t *testing.T) {
	d, m := open(t, driver.Config{Entries: 4})
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectHang); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	_, err := d.SelfTestCopy(ctx, []byte("hang"))
	cancel()
	if !errors.Is(err, driver.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung job: %v, want ErrTimeout wrapping DeadlineExceeded", err)
	}
	var te *driver.TimeoutError
	if !errors.As(err, &te) || te.Tag == 0 {
		t.Errorf("%v is not a *TimeoutError with a tag", err)
	}
	// The device is stuck behind the hung descriptor: the next job times out
	// too, by the configured JobTimeout this time.
	dd, m2 := open(t, driver.Config{Entries: 4, JobTimeout: 20 * time.Millisecond})
	if err := m2.Write32(regs.RegFaultInject, regs.FaultInjectHang); err != nil {
		t.Fatal(err)
	}
	if _, err := dd.SelfTestCopy(context.Background(), []byte("hang")); !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("JobTimeout: %v, want ErrTimeout", err)
	}
	if _, err := dd.SelfTestCopy(context.Background(), []byte("queued")); !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("job behind a hung one: %v, want ErrTimeout", err)
	}
	for _, dev := range []*driver.Device{d, dd} {
		if err := dev.Reset(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if got, err := dev.SelfTestCopy(context.Background(), pattern(i, 24)); err != nil || !bytes.Equal(got, pattern(i, 24)) {
				t.Fatalf("job %d after reset: %v", i, err)
			}
		}
		s, err := dev.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Timeouts == 0 || s.Resets != 1 || s.InFlight != 0 || s.ArenaBytesUsed != 0 {
			t.Errorf("stats after recovery %+v", s)
		}
	}
}

func TestWatchdogAbortsHungDescriptor(t *testing.T) {
	// 250 000 cycles at 250 MHz: 1 ms.
	d, m := open(t, driver.Config{WatchdogCycles: 250_000})
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectHang); err != nil {
		t.Fatal(err)
	}
	_, err := d.SelfTestCopy(context.Background(), []byte("hang"))
	var de *driver.DeviceError
	if !errors.As(err, &de) || de.Status != regs.CodeWatchdog || de.Name != "WATCHDOG" {
		t.Fatalf("hung job with watchdog: %v, want WATCHDOG", err)
	}
	if got, err := d.SelfTestCopy(context.Background(), []byte("next")); err != nil || string(got) != "next" {
		t.Fatalf("job after watchdog: %q %v", got, err)
	}
}

func TestFatalErrorHaltsAndResetRecovers(t *testing.T) {
	for _, c := range []struct {
		name   string
		inject func(*devmodel.Model)
		bit    uint32
	}{
		{"CPL_WRITE", (*devmodel.Model).InjectCplWriteError, 1 << regs.ErrorCplWriteBit},
		{"DESC_READ", (*devmodel.Model).InjectDescReadError, 1 << regs.ErrorDescReadBit},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, m := open(t, driver.Config{Entries: 8})
			c.inject(m)
			_, err := d.SelfTestCopy(context.Background(), []byte("fatal"))
			if !errors.Is(err, driver.ErrHalted) || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("fatal %s: %v, want ErrHalted naming it", c.name, err)
			}
			if _, err := d.SelfTestCopy(context.Background(), []byte("refused")); !errors.Is(err, driver.ErrHalted) {
				t.Fatalf("job on a halted device: %v, want ErrHalted", err)
			}
			s, err := d.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if s.Status&regs.StatusHalted == 0 || s.Error&c.bit == 0 || s.Halts != 1 {
				t.Errorf("halted stats %+v", s)
			}
			if err := d.Reset(); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				if got, err := d.SelfTestCopy(context.Background(), pattern(i, 16)); err != nil || !bytes.Equal(got, pattern(i, 16)) {
					t.Fatalf("job %d after reset: %v", i, err)
				}
			}
			if s, _ := d.Stats(); s.Status&regs.StatusHalted != 0 || s.Error != 0 {
				t.Errorf("after reset: %+v", s)
			}
		})
	}
}

func TestResetFailsJobsInFlight(t *testing.T) {
	d, m := open(t, driver.Config{Entries: 8})
	m.Stall(true)
	errc := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, err := d.SelfTestCopy(context.Background(), []byte("stalled"))
			errc <- err
		}()
	}
	waitFor(t, "3 jobs in flight", func() bool { return inFlight(t, d) == 3 })
	if err := d.Reset(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := <-errc; !errors.Is(err, driver.ErrReset) {
			t.Errorf("job in flight at reset: %v, want ErrReset", err)
		}
	}
	m.Stall(false)
	if got, err := d.SelfTestCopy(context.Background(), []byte("fresh")); err != nil || string(got) != "fresh" {
		t.Fatalf("after reset: %q %v", got, err)
	}
}

func TestDescriptorRingFullBackPressure(t *testing.T) {
	d, m := open(t, driver.Config{Entries: 4})
	m.Stall(true)
	const jobs = 12
	var wg sync.WaitGroup
	errs := make([]error, jobs)
	outs := make([][]byte, jobs)
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = d.SelfTestCopy(context.Background(), pattern(i, 40))
		}()
	}
	waitFor(t, "a full descriptor ring", func() bool { return inFlight(t, d) == 4 })
	// A job with a short deadline cannot get in while the ring is full.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	_, err := d.SelfTestCopy(ctx, []byte("no room"))
	cancel()
	if !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("submit into a full ring: %v, want ErrTimeout", err)
	}
	if n := inFlight(t, d); n != 4 {
		t.Fatalf("%d descriptors in flight on a 4-entry ring", n)
	}
	m.Stall(false)
	wg.Wait()
	for i := 0; i < jobs; i++ {
		if errs[i] != nil || !bytes.Equal(outs[i], pattern(i, 40)) {
			t.Errorf("job %d: %v", i, errs[i])
		}
	}
}

func TestCompletionRingBackPressureConcurrent(t *testing.T) {
	// The completion ring is smaller than the descriptor ring, and many
	// submitters compete: the device must stall on CQ space, never lose or
	// misroute a completion.
	d, _ := open(t, driver.Config{Entries: 32, CplEntries: 2}, devmodel.WithMemory(4<<20, devmodel.DefaultIOVA))
	const workers, per = 8, 150
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				in := pattern(w*1000+i, 8*(1+(w+i)%16))
				var out []byte
				var err error
				if i%5 == 0 {
					out = make([]byte, len(in))
					_, err = d.Submit(context.Background(), chainJob(in, out))
				} else {
					out, err = d.SelfTestCopy(context.Background(), in)
				}
				if err != nil {
					errc <- fmt.Errorf("worker %d job %d: %w", w, i, err)
					return
				}
				if !bytes.Equal(out, in) {
					errc <- fmt.Errorf("worker %d job %d: output of another job", w, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Completed != workers*per || s.Spurious != 0 || s.InFlight != 0 || s.ArenaBytesUsed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestArenaBackPressure(t *testing.T) {
	// An arena of 4 KiB holds one 3 KiB job at a time: concurrent jobs wait
	// for each other's buffers.
	d, _ := open(t, driver.Config{Entries: 16, ArenaBytes: 4096})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				in := pattern(w*100+i, 1536)
				out, err := d.SelfTestCopy(context.Background(), in)
				if err != nil || !bytes.Equal(out, in) {
					t.Errorf("worker %d job %d: %v", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := d.SelfTestCopy(context.Background(), make([]byte, 4096)); !errors.Is(err, driver.ErrInvalidJob) {
		t.Errorf("job larger than the arena: %v, want ErrInvalidJob", err)
	}
}

func TestInterruptHook(t *testing.T) {
	slow := func(src, dst []byte, _ driver.Descriptor) (int, uint16) {
		time.Sleep(2 * time.Millisecond)
		return copy(dst, src), regs.CodeOK
	}
	m, err := devmodel.New(devmodel.Handle(regs.OpGreeks, slow))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := driver.Open(m, m, driver.Config{PollSpins: 1, WaitIRQ: func(ctx context.Context) error {
		select {
		case <-m.IRQ():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := 0; i < 5; i++ {
		in, out := pattern(i, 32), make([]byte, 32)
		_, err := d.Submit(context.Background(), &driver.Job{
			Descs: []driver.Desc{{Opcode: regs.OpGreeks, Src: driver.Ref{Buf: 0, Len: 32}, Dst: driver.Ref{Buf: 1, Len: 32}}},
			Bufs:  []driver.Buffer{{Bytes: 32, In: in}, {Bytes: 32, Out: out}},
		})
		if err != nil || !bytes.Equal(in, out) {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.IRQWaits == 0 {
		t.Errorf("the interrupt hook was never used: %+v", s)
	}
	if v, _ := m.Read32(regs.RegCtrl); v&regs.CtrlIRQEn == 0 {
		t.Errorf("CTRL %#x: IRQ_EN not set", v)
	}
}

func TestCloseFailsWaitersAndRefusesJobs(t *testing.T) {
	m, err := devmodel.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := driver.Open(m, m, driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m.Stall(true)
	errc := make(chan error, 1)
	go func() {
		_, err := d.SelfTestCopy(context.Background(), []byte("pending"))
		errc <- err
	}()
	waitFor(t, "a job in flight", func() bool { return inFlight(t, d) == 1 })
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, driver.ErrClosed) {
		t.Errorf("job in flight at Close: %v, want ErrClosed", err)
	}
	if _, err := d.SelfTestCopy(context.Background(), []byte("late")); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("job after Close: %v", err)
	}
	if err := d.Reset(); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("Reset after Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if v, _ := m.Read32(regs.RegCtrl); v&regs.CtrlEnable != 0 {
		t.Errorf("device still enabled after Close: CTRL %#x", v)
	}
}

func TestCanceledContext(t *testing.T) {
	d, m := open(t, driver.Config{})
	m.Stall(true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := d.SelfTestCopy(ctx, []byte("cancel me"))
		errc <- err
	}()
	waitFor(t, "a job in flight", func() bool { return inFlight(t, d) == 1 })
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("canceled job: %v, want context.Canceled", err)
	}
	// The abandoned job still completes on the device and frees its room.
	m.Stall(false)
	waitFor(t, "the abandoned job to drain", func() bool {
		_, err := d.SelfTestCopy(context.Background(), []byte("next"))
		return err == nil && inFlight(t, d) == 0
	})
	if s, _ := d.Stats(); s.ArenaBytesUsed != 0 || s.Canceled != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestInvalidJobs(t *testing.T) {
	d, _ := open(t, driver.Config{})
	copyDesc := driver.Desc{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: 8}, Dst: driver.Ref{Buf: 1, Len: 8}}
	two := []driver.Buffer{{Bytes: 8}, {Bytes: 8}}
	for name, jb := range map[string]*driver.Job{
		"no descriptors":    {Bufs: two},
		"chain too long":    {Descs: make([]driver.Desc, driver.ChainMax+1), Bufs: two},
		"too many buffers":  {Descs: []driver.Desc{copyDesc}, Bufs: make([]driver.Buffer, driver.BufsMax+1)},
		"negative size":     {Descs: []driver.Desc{copyDesc}, Bufs: []driver.Buffer{{Bytes: -8}, {Bytes: 8}}},
		"input too long":    {Descs: []driver.Desc{copyDesc}, Bufs: []driver.Buffer{{Bytes: 8, In: make([]byte, 9)}, {Bytes: 8}}},
		"output too long":   {Descs: []driver.Desc{copyDesc}, Bufs: []driver.Buffer{{Bytes: 8}, {Bytes: 8, Out: make([]byte, 16)}}},
		"missing buffer":    {Descs: []driver.Desc{copyDesc}, Bufs: two[:1]},
		"unaligned length":  {Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Len: 4}}}, Bufs: two},
		"unaligned offset":  {Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Off: 4, Len: 8}}}, Bufs: []driver.Buffer{{Bytes: 16}}},
		"range past end":    {Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Off: 8, Len: 8}}}, Bufs: two},
		"beyond the arena":  {Descs: []driver.Desc{copyDesc}, Bufs: []driver.Buffer{{Bytes: 1 << 30}, {Bytes: 8}}},
		"arg0 and its ref":  {Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Arg0: 1, Arg0Ref: driver.Ref{Len: 8}}}, Bufs: two},
		"arg0 ref past end": {Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Arg0Ref: driver.Ref{Buf: 1, Off: 8, Len: 8}}}, Bufs: two},
	} {
		if _, err := d.Submit(context.Background(), jb); !errors.Is(err, driver.ErrInvalidJob) {
			t.Errorf("%s: %v, want ErrInvalidJob", name, err)
		}
	}
	if s, _ := d.Stats(); s.Submitted != 0 {
		t.Errorf("invalid jobs reached the device: %+v", s)
	}
}

// patchBar overrides register reads of a real Bar.
type patchBar struct {
	driver.Bar
	reads        map[uint32]uint32
	ignoreWrites map[uint32]bool
}

func (p *patchBar) Read32(off uint32) (uint32, error) {
	if v, ok := p.reads[off]; ok {
		return v, nil
	}
	return p.Bar.Read32(off)
}

func (p *patchBar) Write32(off, v uint32) error {
	if p.ignoreWrites[off] {
		return nil
	}
	return p.Bar.Write32(off, v)
}

// failBar fails every access after a number of successful ones.
type failBar struct {
	driver.Bar
	left int
}

var errBus = errors.New("test: bus error")

func (f *failBar) Read32(off uint32) (uint32, error) {
	if f.left--; f.left < 0 {
		return 0, errBus
	}
	return f.Bar.Read32(off)
}

func (f *failBar) Write32(off, v uint32) error {
	if f.left--; f.left < 0 {
		return errBus
	}
	return f.Bar.Write32(off, v)
}

func TestOpenRefusesIncompatibleDevices(t *testing.T) {
	m, err := devmodel.New(devmodel.WithTablesHash(0x1234ABCD))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range []struct {
		name   string
		reads  map[uint32]uint32
		ignore map[uint32]bool
		cfg    driver.Config
		want   string
	}{
		{"wrong magic", map[uint32]uint32{regs.RegIDMagic: 0x12345678}, nil, driver.Config{}, "magic"},
		{"new major ABI", map[uint32]uint32{regs.RegIDABI: 2 << 16}, nil, driver.Config{}, "ABI 2.0"},
		{"tables hash", nil, nil, driver.Config{TablesHash: 0x1234ABCE}, "tables hash"},
		{"unknown block", map[uint32]uint32{regs.RegCtrlBlkID: 0xB0FF_0001}, nil, driver.Config{}, "unknown block type"},
		{"block version", map[uint32]uint32{regs.RegQueueBlkID: regs.BlkTypeQueue<<16 | 2}, nil, driver.Config{}, "version 2"},
		{"chain goes backwards", map[uint32]uint32{regs.RegQueueBlkNext: 0x100}, nil, driver.Config{}, "chain must go forward"},
		{"chain leaves the BAR", map[uint32]uint32{regs.RegCtrlBlkNext: 0x10000}, nil, driver.Config{}, "inside the BAR"},
		{"missing block", map[uint32]uint32{regs.RegCtrlBlkNext: 0}, nil, driver.Config{}, "no QUEUE block"},
		{"duplicate block", map[uint32]uint32{regs.RegCtrlBlkID: regs.BlkTypeID<<16 | 1}, nil, driver.Config{}, "appears twice"},
		{"block overlaps next", map[uint32]uint32{regs.RegIDBlkNext: 0x10}, nil, driver.Config{}, "next block starts"},
		{"dead scratch", nil, map[uint32]bool{regs.RegIDScratch: true}, driver.Config{}, "scratch"},
	} {
		_, err := driver.Open(&patchBar{Bar: m, reads: c.reads, ignoreWrites: c.ignore}, m, c.cfg)
		if !errors.Is(err, driver.ErrIncompatible) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrIncompatible mentioning %q", c.name, err, c.want)
		}
	}
	// The right hash, a newer minor ABI and relocated blocks are accepted.
	d, err := driver.Open(&patchBar{Bar: m, reads: map[uint32]uint32{regs.RegIDABI: 1<<16 | 3}}, m, driver.Config{TablesHash: 0x1234ABCD})
	if err != nil {
		t.Fatalf("compatible device refused: %v", err)
	}
	if info := d.Info(); info.TablesHash != 0x1234ABCD || info.ABI != 1<<16|3 || info.ClkMHz != 250 || info.Lanes != devmodel.DefaultLanes {
		t.Errorf("info %+v", info)
	}
	d.Close()

	// Bus errors at any point of Open are reported, never a panic.
	for n := 0; n < 40; n++ {
		if _, err := driver.Open(&failBar{Bar: m, left: n}, m, driver.Config{}); err == nil {
			// Open needs fewer accesses than n: nothing more to test.
			break
		} else if !errors.Is(err, errBus) {
			t.Errorf("bus failing after %d accesses: %v", n, err)
		}
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	m, err := devmodel.New(devmodel.WithMemory(64<<10, devmodel.DefaultIOVA))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, cfg := range map[string]driver.Config{
		"ring not a power of two": {Entries: 12},
		"ring too large":          {Entries: 8192},
		"ring too small":          {Entries: 1},
		"arena larger than mem":   {ArenaBytes: 1 << 20},
		"rings fill memory":       {Entries: 1024},
		"negative timeout":        {JobTimeout: -1},
	} {
		if _, err := driver.Open(m, m, cfg); !errors.Is(err, driver.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := driver.Open(m, badMem{}, driver.Config{}); !errors.Is(err, driver.ErrConfig) {
		t.Errorf("IOVA 0: %v, want ErrConfig", err)
	}
}

type badMem struct{}

func (badMem) Bytes() []byte { return make([]byte, 4096) }
func (badMem) IOVA() uint64  { return 0 }

func TestRegisterDumpAndStats(t *testing.T) {
	d, _ := open(t, driver.Config{Entries: 16})
	for i := 0; i < 7; i++ {
		if _, err := d.SelfTestCopy(context.Background(), pattern(i, 64)); err != nil {
			t.Fatal(err)
		}
	}
	dump := d.RegisterDump()
	for _, want := range []string{"block ID at 0x00", "ID_MAGIC", "0x424c5354", "CTRL ", "ENABLE", "DQ_SIZE_LOG2", "0x00000004", "DQ_TAIL", "0x00000007", "IDLE"} {
		if !strings.Contains(dump, want) {
			t.Errorf("register dump lacks %q:\n%s", want, dump)
		}
	}
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Submitted != 7 || s.Completed != 7 || s.Descriptors != 7 || s.JobsDone != 7 || s.BusyCycles == 0 || s.Cycles == 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestSubmitZeroAllocs(t *testing.T) {
	d, _ := open(t, driver.Config{Entries: 64})
	in, out := pattern(1, 256), make([]byte, 256)
	jb := &driver.Job{
		Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: 256}, Dst: driver.Ref{Buf: 1, Len: 256}}},
		Bufs:  []driver.Buffer{{Bytes: 256, In: in}, {Bytes: 256, Out: out}},
	}
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := d.Submit(ctx, jb); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := d.Submit(ctx, jb); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Submit allocates %.1f times per job, want 0", allocs)
	}
	if !bytes.Equal(in, out) {
		t.Error("output differs")
	}
}

func BenchmarkSubmitRoundTrip(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(fmt.Sprintf("copy%d", size), func(b *testing.B) {
			d, _ := open(b, driver.Config{Entries: 64})
			in, out := pattern(1, size), make([]byte, size)
			jb := &driver.Job{
				Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: size}, Dst: driver.Ref{Buf: 1, Len: size}}},
				Bufs:  []driver.Buffer{{Bytes: size, In: in}, {Bytes: size, Out: out}},
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				if _, err := d.Submit(ctx, jb); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

func BenchmarkSubmitParallel(b *testing.B) {
	d, _ := open(b, driver.Config{Entries: 256})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in, out := pattern(2, 64), make([]byte, 64)
		jb := &driver.Job{
			Descs: []driver.Desc{{Opcode: regs.OpSelftestCopy, Src: driver.Ref{Buf: 0, Len: 64}, Dst: driver.Ref{Buf: 1, Len: 64}}},
			Bufs:  []driver.Buffer{{Bytes: 64, In: in}, {Bytes: 64, Out: out}},
		}
		for pb.Next() {
			if _, err := d.Submit(ctx, jb); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

func BenchmarkSelfTestPhilox(b *testing.B) {
	d, _ := open(b, driver.Config{})
	const blocks = 4096
	b.SetBytes(blocks * 16)
	for b.Loop() {
		if _, err := d.SelfTestPhilox(context.Background(), 1, 2, 3, blocks); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInjectFault(t *testing.T) {
	d, _ := open(t, driver.Config{})
	ctx := context.Background()
	if err := d.InjectFault(driver.FaultDMARead); err != nil {
		t.Fatal(err)
	}
	_, err := d.SelfTestCopy(ctx, []byte("x"))
	var de *driver.DeviceError
	if !errors.As(err, &de) || de.Status != regs.CodeDMARead {
		t.Fatalf("after FaultDMARead: %v, want DMA_READ", err)
	}
	if got, err := d.SelfTestCopy(ctx, []byte("next")); err != nil || string(got) != "next" {
		t.Fatalf("the fault outlived its descriptor: %q, %v", got, err)
	}
	if err := d.InjectFault(driver.Fault(1 << 7)); err == nil {
		t.Fatal("an unknown fault was accepted")
	}
}
