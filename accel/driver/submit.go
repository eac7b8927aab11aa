package driver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
	"github.com/ballast-risk/ballast/accel/internal/regs"
)

// Buffer is one DMA buffer of a job, allocated in the arena for the job's
// life.
type Buffer struct {
	// Bytes is the buffer's size, at most BufferBytesMax.
	Bytes int
	// In is copied to the start of the buffer before the job starts; the
	// rest of the buffer is zeroed. len(In) ≤ Bytes.
	In []byte
	// Out, when non-nil, receives the first len(Out) bytes of the buffer
	// once the job has completed without error. len(Out) ≤ Bytes.
	Out []byte
}

// Ref is a byte range of one of a job's buffers. Len 0 means no buffer (the
// descriptor's address and length are 0).
type Ref struct {
	// Buf indexes Job.Bufs.
	Buf int
	// Off and Len are multiples of 8 with Off+Len ≤ Bufs[Buf].Bytes.
	Off, Len int
}

// Desc is one descriptor of a job.
type Desc struct {
	// Opcode is a regs.Op* opcode.
	Opcode uint16
	// Src and Dst are the input and output ranges.
	Src, Dst Ref
	// Arg0, Arg1 and Arg2 are the opcode's arguments.
	Arg0, Arg1, Arg2 uint64
	// Arg0Ref, when its Len is not 0, makes arg0 the device address of that
	// range (REVAL's scenario buffer, AGGTAIL's loss matrix); Arg0 must then
	// be 0.
	Arg0Ref Ref
}

// Job is a chain of descriptors the device executes in order, and the
// buffers they read and write (one descriptor's output may be the next
// one's input).
type Job struct {
	// Descs holds 1 to ChainMax descriptors.
	Descs []Desc
	// Bufs holds at most BufsMax buffers.
	Bufs []Buffer
}

// Result is the completions of a job's descriptors.
type Result struct {
	// N is the number of descriptors.
	N int
	// Completions holds the first N descriptors' completions, in order.
	Completions [ChainMax]Completion
	// Tag is the job's tag.
	Tag uint32
}

// Cycles is the device cycles the job's descriptors took.
func (r *Result) Cycles() uint64 {
	var c uint64
	for i := 0; i < r.N; i++ {
		c += r.Completions[i].Cycles
	}
	return c
}

// validate checks a job against the bounds and the device's capabilities and
// returns the arena bytes it needs.
func (d *Device) validate(jb *Job) (int, error) {
	if len(jb.Descs) == 0 || len(jb.Descs) > ChainMax {
		return 0, fmt.Errorf("%w: %d descriptors, want 1 to %d", ErrInvalidJob, len(jb.Descs), ChainMax)
	}
	if len(jb.Descs) > int(d.dqEntries) {
		return 0, fmt.Errorf("%w: %d descriptors do not fit a ring of %d", ErrInvalidJob, len(jb.Descs), d.dqEntries)
	}
	if len(jb.Bufs) > BufsMax {
		return 0, fmt.Errorf("%w: %d buffers, at most %d", ErrInvalidJob, len(jb.Bufs), BufsMax)
	}
	total := 0
	for i := range jb.Bufs {
		b := &jb.Bufs[i]
		if b.Bytes < 0 || b.Bytes > BufferBytesMax || len(b.In) > b.Bytes || len(b.Out) > b.Bytes {
			return 0, fmt.Errorf("%w: buffer %d: %d bytes (at most %d) with %d in and %d out", ErrInvalidJob, i, b.Bytes, BufferBytesMax, len(b.In), len(b.Out))
		}
		total += alignUp(b.Bytes)
	}
	if total > d.arena.size {
		return 0, fmt.Errorf("%w: buffers of %d bytes exceed the arena of %d", ErrInvalidJob, total, d.arena.size)
	}
	for i := range jb.Descs {
		ds := &jb.Descs[i]
		if !d.info.Supports(ds.Opcode) {
			return 0, fmt.Errorf("%w: %s (%#04x), ID_CAPS %#x", ErrUnsupported, regs.OpcodeName(ds.Opcode), ds.Opcode, d.info.Caps)
		}
		if ds.Arg0Ref.Len != 0 && ds.Arg0 != 0 {
			return 0, fmt.Errorf("%w: descriptor %d: Arg0 %#x with an Arg0Ref", ErrInvalidJob, i, ds.Arg0)
		}
		for _, r := range [3]*Ref{&ds.Src, &ds.Dst, &ds.Arg0Ref} {
			if r.Len == 0 {
				continue
			}
			if r.Buf < 0 || r.Buf >= len(jb.Bufs) || r.Off < 0 || r.Len < 0 || r.Off%regs.BufAlignBytes != 0 ||
				r.Len%regs.BufAlignBytes != 0 || r.Off+r.Len > jb.Bufs[r.Buf].Bytes {
				return 0, fmt.Errorf("%w: descriptor %d: range buffer %d [%d, +%d) is outside the job's buffers or not 8-byte aligned", ErrInvalidJob, i, r.Buf, r.Off, r.Len)
			}
		}
	}
	return total, nil
}

// deadline is when a job submitted now under ctx must be done.
func (d *Device) deadline(ctx context.Context, now time.Duration) time.Duration {
	dl := now + d.cfg.JobTimeout
	if dl < now { // a huge JobTimeout: no deadline of our own
		dl = math.MaxInt64
	}
	if t, ok := ctx.Deadline(); ok {
		if c := t.Sub(d.epoch); c < dl {
			dl = c
		}
	}
	return dl
}

// Submit runs a job: it waits for room (ring, job slots, arena) while the
// device is busy, copies the inputs, writes the descriptors, rings the
// doorbell and waits for every completion. A descriptor that completes with
// an error gives a *DeviceError (the first one in the chain); the device
// goes on with later jobs. Outputs are copied only when every descriptor
// succeeded. Submit is safe for concurrent use.
func (d *Device) Submit(ctx context.Context, jb *Job) (Result, error) {
	var res Result
	need, err := d.validate(jb)
	if err != nil {
		return res, err
	}
	start := d.now()
	dl := d.deadline(ctx, start)

	// Phase 1: a job slot and arena bytes.
	var ji int
	for round := 1; ; round++ {
		d.mu.Lock()
		if err := d.usable(); err != nil {
			d.mu.Unlock()
			return res, err
		}
		if len(d.free) > 0 {
			pos, rec, ok := 0, -1, true
			if need > 0 {
				pos, rec, ok = d.arena.alloc(need)
			}
			if ok {
				ji = int(d.free[len(d.free)-1])
				d.free = d.free[:len(d.free)-1]
				j := &d.jobs[ji]
				j.state, j.n, j.done, j.err = stPreparing, len(jb.Descs), 0, nil
				j.arenaRec, j.arenaPos = rec, d.arenaOff+pos
				j.start, j.deadline = start, dl
				d.mu.Unlock()
				break
			}
		}
		d.mu.Unlock()
		if err := d.waitRoom(ctx, start, dl, round); err != nil {
			return res, err
		}
	}
	j := &d.jobs[ji]

	// Copy the inputs outside the lock: the region is ours.
	var bufPos [BufsMax]int
	p := j.arenaPos
	for i := range jb.Bufs {
		b := &jb.Bufs[i]
		bufPos[i] = p
		region := d.mem[p : p+b.Bytes]
		n := copy(region, b.In)
		clear(region[n:])
		p += alignUp(b.Bytes)
	}

	// Phase 2: ring slots, descriptors and the doorbell, in ring order.
	for round := 1; ; round++ {
		d.mu.Lock()
		if err := d.usable(); err != nil {
			d.release(ji)
			d.mu.Unlock()
			return res, err
		}
		if int(d.dqEntries-(d.dqTail-d.dqDone)) >= j.n {
			break
		}
		d.mu.Unlock()
		if err := d.waitRoom(ctx, start, dl, round); err != nil {
			d.mu.Lock()
			d.release(ji)
			d.mu.Unlock()
			return res, err
		}
	}
	d.nextTag++
	if d.nextTag == 0 {
		d.nextTag = 1
	}
	j.tag = d.nextTag
	for i := range jb.Descs {
		ds := &jb.Descs[i]
		desc := Descriptor{Opcode: ds.Opcode, Tag: j.tag, Arg0: ds.Arg0, Arg1: ds.Arg1, Arg2: ds.Arg2}
		if ds.Src.Len > 0 {
			desc.SrcAddr, desc.SrcLen = d.iova+uint64(bufPos[ds.Src.Buf]+ds.Src.Off), uint32(ds.Src.Len)
		}
		if ds.Dst.Len > 0 {
			desc.DstAddr, desc.DstLen = d.iova+uint64(bufPos[ds.Dst.Buf]+ds.Dst.Off), uint32(ds.Dst.Len)
		}
		if ds.Arg0Ref.Len > 0 {
			desc.Arg0 = d.iova + uint64(bufPos[ds.Arg0Ref.Buf]+ds.Arg0Ref.Off)
		}
		if i == len(jb.Descs)-1 && d.cfg.WaitIRQ != nil {
			desc.Flags |= regs.DescFlagsIRQ
		}
		j.opcodes[i] = ds.Opcode
		slot := d.dqTail & (d.dqEntries - 1)
		w := desc.Words()
		for k, v := range w {
			if err := mmio.Store64(d.mem, int(slot)*regs.DescBytes+k*8, v); err != nil {
				panic("driver: descriptor ring outside memory: " + err.Error())
			}
		}
		d.slots[slot] = descSlot{used: true, job: int32(ji), pos: int8(i), tag: j.tag}
		d.dqTail++
	}
	j.state = stInflight
	d.stats.submitted++
	d.stats.descriptors += uint64(j.n)
	if err := d.bar.Write32(d.off.dqTail, d.dqTail); err != nil {
		d.fail(fmt.Errorf("accel/driver: doorbell: %w", err))
	}
	tag := j.tag
	d.mu.Unlock()

	// Phase 3: wait for the completions.
	werr := d.wait(ctx, j)

	d.mu.Lock()
	switch j.state {
	case stDone:
		if j.err != nil {
			err := j.err
			d.release(ji)
			d.mu.Unlock()
			return res, err
		}
	case stAbandoned:
		// Someone else ended it (halt, bus error, poller's deadline check).
		err := j.err
		d.mu.Unlock()
		return res, err
	case stInflight:
		// The context ended first: leave the job to the device.
		j.state = stAbandoned
		err := d.abandonErr(werr, tag, d.now()-start)
		j.err = err
		d.mu.Unlock()
		return res, err
	default:
		panic("driver: submitted job in an impossible state")
	}
	d.mu.Unlock()

	// Done without a driver-side failure: the region is ours until release.
	res.N, res.Tag = j.n, tag
	copy(res.Completions[:j.n], j.cpl[:j.n])
	var derr error
	for i := 0; i < j.n; i++ {
		if c := &j.cpl[i]; c.Status != regs.CodeOK {
			derr = &DeviceError{Status: c.Status, Name: regs.ErrorName(c.Status), Desc: c.Desc, Tag: c.Tag, Opcode: j.opcodes[i], Pos: i}
			break
		}
	}
	if derr == nil {
		for i := range jb.Bufs {
			if out := jb.Bufs[i].Out; out != nil {
				copy(out, d.mem[bufPos[i]:bufPos[i]+len(out)])
			}
		}
	}
	d.mu.Lock()
	d.release(ji)
	d.mu.Unlock()
	return res, derr
}

// abandonErr is the error of a job whose wait ended by ctx or deadline.
func (d *Device) abandonErr(werr error, tag uint32, after time.Duration) error {
	if werr == nil || errors.Is(werr, context.DeadlineExceeded) {
		d.stats.timeouts++
		return &TimeoutError{Tag: tag, After: after, Err: context.DeadlineExceeded}
	}
	d.stats.canceled++
	return fmt.Errorf("accel/driver: job %#x abandoned: %w", tag, werr)
}

// usable reports why no job may start now. The caller holds mu.
func (d *Device) usable() error {
	if d.closed {
		return ErrClosed
	}
	return d.failErr
}

// wait blocks until job j leaves stInflight or ctx ends (returning ctx's
// error). Whoever holds the baton polls for everyone.
func (d *Device) wait(ctx context.Context, j *job) error {
	done := ctx.Done()
	for {
		select {
		case <-j.doneCh:
			return nil
		case <-done:
			return ctx.Err()
		case <-d.baton:
			err := d.poll(ctx, j)
			d.baton <- struct{}{}
			return err
		}
	}
}

// poll drains completions until j is no longer in flight, backing off from
// spinning to yielding to sleeping (or the interrupt hook) while the ring
// is empty. It checks deadlines and the HALTED bit whenever it sleeps.
func (d *Device) poll(ctx context.Context, j *job) error {
	idle := 0
	for {
		n, st := d.drain(j)
		if st != stInflight {
			return nil
		}
		if n > 0 {
			idle = 0
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		idle++
		if idle <= d.cfg.PollSpins {
			if idle%spinYieldEvery == 0 {
				// Let a device model or simulator goroutine that shares
				// this P run (it may be what we are waiting for).
				runtime.Gosched()
			}
			continue
		}
		if d.housekeep() {
			continue
		}
		if d.cfg.WaitIRQ != nil && idle > d.cfg.PollSpins+64 {
			d.waitIRQ(ctx, j)
			continue
		}
		backoff(idle-d.cfg.PollSpins, 64, d.cfg.PollSleepMax)
	}
}

// spinYieldEvery spaces the yields while spinning.
const spinYieldEvery = 32

// backoff yields for the first yields rounds, then sleeps doubling from 1 µs
// up to sleepMax.
func backoff(round, yields int, sleepMax time.Duration) {
	if round <= yields {
		runtime.Gosched()
		return
	}
	s := time.Microsecond << min(round-yields, 20)
	time.Sleep(min(s, sleepMax))
}

// waitIRQ calls the interrupt hook, bounded by the job's deadline, then
// acknowledges IRQ_STATUS.
func (d *Device) waitIRQ(ctx context.Context, j *job) {
	d.mu.Lock()
	dl := j.deadline
	d.stats.irqWaits++
	d.mu.Unlock()
	wait := min(dl-d.now(), DefaultIRQWaitMax)
	if wait <= 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	err := d.cfg.WaitIRQ(wctx)
	cancel()
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		// A broken hook must not spin the CPU: fall back to a sleep.
		time.Sleep(d.cfg.PollSleepMax)
	}
	if v, err := d.bar.Read32(d.off.irqStatus); err == nil && v != 0 {
		if err := d.bar.Write32(d.off.irqStatus, v); err != nil {
			d.mu.Lock()
			d.fail(fmt.Errorf("accel/driver: write IRQ_STATUS: %w", err))
			d.mu.Unlock()
		}
	}
}

// housekeepEvery spaces out the deadline and STATUS checks while idle.
const housekeepEvery = 200 * time.Microsecond

// housekeep, at most every housekeepEvery, times out jobs past their
// deadline and reads STATUS to notice a halted device. It reports whether
// something changed.
func (d *Device) housekeep() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now-d.lastChk < housekeepEvery {
		return false
	}
	d.lastChk = now
	changed := false
	for i := range d.jobs {
		j := &d.jobs[i]
		if j.state == stInflight && now > j.deadline {
			j.state = stAbandoned
			j.err = d.abandonErr(nil, j.tag, now-j.start)
			d.signal(j)
			changed = true
		}
	}
	if d.failErr != nil || d.dqTail == d.dqDone {
		return changed
	}
	st, err := d.bar.Read32(d.off.status)
	if err != nil {
		d.fail(fmt.Errorf("accel/driver: read STATUS: %w", err))
		return true
	}
	if st&regs.StatusHalted != 0 {
		e, _ := d.bar.Read32(d.off.errReg)
		ed, _ := d.bar.Read32(d.off.errDesc)
		d.stats.halts++
		d.fail(fmt.Errorf("%w: STATUS %#x, ERROR %#x (%s) at descriptor %d", ErrHalted, st, e, errorBits(e), ed))
		return true
	}
	return changed
}

// errorBits names the bits of an ERROR value.
func errorBits(v uint32) string {
	s := ""
	for i := range regs.Errors {
		if v&(1<<regs.Errors[i].Bit) != 0 {
			if s != "" {
				s += "|"
			}
			s += regs.Errors[i].Name
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// waitRoom waits a little for ring, job or arena room (round counts the
// caller's attempts, for the back-off): it drains completions when nobody
// else polls, and fails at the job's deadline or when ctx ends.
func (d *Device) waitRoom(ctx context.Context, start, dl time.Duration, round int) error {
	if err := ctx.Err(); err != nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.abandonErr(err, 0, d.now()-start)
	}
	if now := d.now(); now > dl {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.abandonErr(nil, 0, now-start)
	}
	select {
	case <-d.baton:
		n, _ := d.drain(nil)
		if n == 0 {
			d.housekeep()
		}
		d.baton <- struct{}{}
		if n > 0 {
			return nil
		}
	default:
	}
	backoff(round, 64, d.cfg.PollSleepMax)
	return nil
}

// drain consumes the completions in the ring and returns how many, and the
// state of job j afterwards (stInflight when j is nil).
func (d *Device) drain(j *job) (int, uint8) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for n < int(d.cqEntries) && d.failErr == nil {
		off := d.cqOff + int(d.cqHead&(d.cqEntries-1))*regs.CplBytes
		var w CompletionWords
		var err error
		if w[CplValidWord], err = mmio.Load64(d.mem, off+CplValidWord*8); err != nil {
			panic("driver: completion ring outside memory: " + err.Error())
		}
		if uint16(w[CplValidWord]>>48)&regs.CplFlagsValid == 0 {
			break
		}
		for k := 0; k < CplValidWord; k++ {
			w[k], _ = mmio.Load64(d.mem, off+k*8)
		}
		for k := len(w) - 1; k >= 0; k-- {
			_ = mmio.Store64(d.mem, off+k*8, 0)
		}
		d.complete(CompletionFromWords(w))
		d.cqHead++
		n++
	}
	if n > 0 && d.failErr == nil {
		if err := d.bar.Write32(d.off.cqHead, d.cqHead); err != nil {
			d.fail(fmt.Errorf("accel/driver: write CQ_HEAD: %w", err))
		}
	}
	if j == nil {
		return n, stInflight
	}
	return n, j.state
}

// complete matches one completion to its job. The caller holds mu.
func (d *Device) complete(c Completion) {
	slot := &d.slots[c.Desc&(d.dqEntries-1)]
	if c.Seq != d.cqHead || c.Desc != d.dqDone || !slot.used || slot.tag != c.Tag {
		d.stats.spurious++
		d.fail(fmt.Errorf("%w: completion seq %d desc %d tag %#x, expected seq %d desc %d tag %#x",
			ErrProtocol, c.Seq, c.Desc, c.Tag, d.cqHead, d.dqDone, slot.tag))
		return
	}
	slot.used = false
	d.dqDone++
	ji := int(slot.job)
	j := &d.jobs[ji]
	j.cpl[slot.pos] = c
	j.done++
	if c.Status != regs.CodeOK {
		d.stats.deviceErrors++
	}
	if j.done < j.n {
		return
	}
	d.stats.completed++
	switch j.state {
	case stInflight:
		j.state = stDone
		d.signal(j)
	case stAbandoned:
		d.release(ji)
	default:
		panic("driver: completion for a job not in flight")
	}
}
