package verdict

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
)

// Shared-memory transport bounds.
const (
	// ShmSlotsMax bounds the slot files (concurrent shared-memory clients)
	// of one ServeShm call.
	ShmSlotsMax = 64
	// shmRelistenBackoffMax bounds the wait between two failed attempts to
	// re-create a slot file.
	shmRelistenBackoffMax = time.Second
	// shmWatchPeriodMin and shmWatchPeriodMax bound the period at which the
	// watchdog samples the sessions for IdleTimeout and WriteTimeout.
	shmWatchPeriodMin = time.Millisecond
	shmWatchPeriodMax = time.Second
)

// ShmSlotName is the file name of slot i in a ServeShm directory:
// "verdict-00.shm", "verdict-01.shm", ... The client library's DialShm
// claims files matching "verdict-*.shm", in name order.
func ShmSlotName(i int) string { return fmt.Sprintf("verdict-%02d.shm", i) }

// ShmConfig configures ServeShm.
type ShmConfig struct {
	// Dir holds the slot files; it is created (mode 0700) when missing.
	// Only processes allowed to open its files can connect, so it should
	// belong to the server's user.
	Dir string
	// Slots is the number of slot files, each serving one client at a
	// time, in [1, ShmSlotsMax].
	Slots int
	// RingBytes is the data area of each ring of each slot
	// (shmring.Config.RingBytes); 0 selects shmring.RingBytesDefault.
	RingBytes int
}

// ServeShm serves the verdict protocol over the same-host shared-memory
// transport (package shmring) until Shutdown, when it returns
// ErrServerClosed. It creates cfg.Slots slot files in cfg.Dir (see
// ShmSlotName) before any client is served, and fails at once when one
// cannot be created (for instance ErrInUse: a live server owns it).
//
// Each slot carries one session at a time with the semantics of a TCP
// connection: Login first, the same tokens and roles, responses in request
// order echoing reqId, Fill answered once durable, MarginNotice pushes,
// IdleTimeout and WriteTimeout (a client leaving its response ring full),
// the same Stats counters for requests, errors and notices. The ring keeps
// the framing, so every malformed frame (SOFH-level ones included) is
// answered with an Error and the session continues; a denied Login is
// answered and ends the session. When the client closes, dies or is timed
// out, the slot file is removed and created afresh for the next client.
func (s *Server) ServeShm(cfg ShmConfig) error {
	switch {
	case cfg.Dir == "":
		return fmt.Errorf("%w: empty shared-memory directory", ErrConfig)
	case cfg.Slots < 1 || cfg.Slots > ShmSlotsMax:
		return fmt.Errorf("%w: %d shared-memory slots, want 1..%d", ErrConfig, cfg.Slots, ShmSlotsMax)
	}
	if s.isClosed() {
		return ErrServerClosed
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	lcfg := shmring.Config{RingBytes: cfg.RingBytes, FrameBytesMax: min(s.cfg.FrameBytesMax, shmring.FrameBytesCap)}
	slots := make([]*shmSlot, cfg.Slots)
	closeAll := func(n int) {
		for _, sl := range slots[:n] {
			sl.closeEndpoint(nil)
		}
	}
	for i := range slots {
		sl := &shmSlot{srv: s, path: filepath.Join(cfg.Dir, ShmSlotName(i)), lcfg: lcfg}
		ep, err := shmring.Listen(sl.path, lcfg)
		if err != nil {
			closeAll(i)
			return fmt.Errorf("verdict: shared-memory slot %s: %w", sl.path, err)
		}
		sl.ep = ep
		slots[i] = sl
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeAll(len(slots))
		return ErrServerClosed
	}
	for _, sl := range slots {
		s.shmSlots[sl] = struct{}{}
	}
	s.wg.Add(len(slots) + 1)
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.shmWatch(slots)
	var running sync.WaitGroup
	running.Add(len(slots))
	for _, sl := range slots {
		go func() {
			defer running.Done()
			sl.run(ctx)
		}()
	}
	<-s.stop
	cancel()
	running.Wait()
	return ErrServerClosed
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// shmSlot is one slot file and the goroutine that serves its sessions one
// after the other (it is also the sessions' reader).
type shmSlot struct {
	srv  *Server
	path string
	lcfg shmring.Config

	// mu guards ep and serialises closing it with re-creating the file,
	// so that a Close by the watchdog or Shutdown (which removes the file)
	// never removes the next session's file.
	mu sync.Mutex
	ep *shmring.Endpoint // nil once closed
	// sess is the session being served, for the watchdog.
	sess atomic.Pointer[shmSession]
}

// closeEndpoint closes ep (the current endpoint when ep is nil) unless it
// was closed already, unblocking its reader and writer.
func (sl *shmSlot) closeEndpoint(ep *shmring.Endpoint) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.ep == nil || (ep != nil && ep != sl.ep) {
		return
	}
	_ = sl.ep.Close()
	sl.ep = nil
}

// run serves sessions on the slot until the server shuts down.
func (sl *shmSlot) run(ctx context.Context) {
	s := sl.srv
	defer func() {
		s.mu.Lock()
		delete(s.shmSlots, sl)
		s.mu.Unlock()
		s.wg.Done()
	}()
	sl.mu.Lock()
	ep := sl.ep
	sl.mu.Unlock()
	for ep != nil {
		if err := ep.Accept(ctx); err == nil {
			sl.serve(ep)
		}
		sl.closeEndpoint(ep)
		ep = sl.relisten()
	}
}

// relisten re-creates the slot file, retrying with a bounded backoff; nil
// once the server is shutting down.
func (sl *shmSlot) relisten() *shmring.Endpoint {
	s := sl.srv
	var backoff time.Duration
	for {
		if s.isClosed() {
			return nil
		}
		sl.mu.Lock()
		ep, err := shmring.Listen(sl.path, sl.lcfg)
		if err == nil {
			// Shutdown closes the slot's endpoint after marking the
			// server closed: either it sees this one, or this sees it.
			if s.isClosed() {
				_ = ep.Close()
				sl.mu.Unlock()
				return nil
			}
			sl.ep = ep
			sl.mu.Unlock()
			return ep
		}
		sl.mu.Unlock()
		s.stats.shmListenErrors.Add(1)
		backoff = min(max(2*backoff, time.Millisecond), shmRelistenBackoffMax)
		t := time.NewTimer(backoff)
		select {
		case <-s.stop:
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// serve runs one session on an accepted endpoint and cleans it up.
func (sl *shmSlot) serve(ep *shmring.Endpoint) {
	s := sl.srv
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.nextID++
	ss := newShmSession(s, ep, s.nextID, sl.lcfg.FrameBytesMax)
	s.shmSess[ss] = struct{}{}
	s.mu.Unlock()
	s.stats.shmAccepted.Add(1)
	sl.sess.Store(ss)
	go ss.noticeLoop()
	ss.readLoop()
	sl.sess.Store(nil)
	ss.nmu.Lock()
	ss.dead = true
	ss.nmu.Unlock()
	close(ss.done)
	sl.closeEndpoint(ep) // unblocks a notice write waiting for room
	<-ss.noticeDone
	s.mu.Lock()
	delete(s.shmSess, ss)
	s.mu.Unlock()
	s.stats.shmClosed.Add(1)
}

// shmSession is one shared-memory session. The slot's goroutine reads
// requests, serves them and writes each response to the ring at once;
// noticeLoop writes queued MarginNotices. wmu makes them take turns, so
// the response ring has one producer at a time (shmring's contract), and
// responses keep request order.
type shmSession struct {
	exchange
	ep   *shmring.Endpoint
	rbuf []byte // reader-owned request buffer
	wbuf []byte // reader-owned response encoding buffer

	wmu sync.Mutex // held for every ring write

	nmu      sync.Mutex
	nq       []byte // queued MarginNotice frames
	nfree    []byte // the second buffer while noticeLoop writes
	nqFrames int
	dead     bool // the session ended; pushNotice drops

	nwake      chan struct{}
	done       chan struct{} // closed when the reader ends
	noticeDone chan struct{} // closed when noticeLoop returns

	// Activity counters the watchdog samples: rphase is odd while the
	// reader waits for a request, wphase odd while a ring write is in
	// progress. Two uncontended atomic adds per request instead of a
	// clock read.
	rphase, wphase atomic.Uint64
}

func newShmSession(s *Server, ep *shmring.Endpoint, id uint64, frameBytesMax int) *shmSession {
	queueBytes := min(s.cfg.PendingMax, 256) * sbe.MarginNoticeFrameBytes
	return &shmSession{exchange: exchange{srv: s, id: id}, ep: ep,
		rbuf: make([]byte, frameBytesMax), wbuf: make([]byte, 0, sbe.MessageFrameBytesMax),
		nq: make([]byte, 0, queueBytes), nfree: make([]byte, 0, queueBytes),
		nwake: make(chan struct{}, 1), done: make(chan struct{}), noticeDone: make(chan struct{})}
}

// readLoop serves requests until the client leaves, the endpoint is closed
// or a Login is denied.
func (ss *shmSession) readLoop() {
	st := &ss.srv.stats
	for {
		ss.rphase.Add(1)
		f, n, err := ss.ep.ReadFrame(ss.rbuf)
		ss.rphase.Add(1)
		var resp sbe.Message
		keep := true
		switch {
		case err == nil:
			st.shmFramesIn.Add(1)
			resp, keep = ss.serve(f)
		case n > 0: // a malformed frame, consumed: answer and read on
			code, proto := sbe.CodeOf(err)
			if !proto {
				return
			}
			st.shmFramesIn.Add(1)
			hf, _, _ := sbe.ParseFrame(ss.rbuf[:n], len(ss.rbuf)) // its header, if any, for the reqId
			resp = ss.refuse(reqIDOf(hf), code, err.Error())
		default: // closed, peer closed or dead, corrupt ring
			return
		}
		if !ss.write(resp) || !keep {
			return
		}
	}
}

// write encodes m and writes it to the response ring.
func (ss *shmSession) write(m sbe.Message) bool {
	ss.wbuf = m.AppendFrame(ss.wbuf[:0])
	ss.wmu.Lock()
	ss.wphase.Add(1)
	err := ss.ep.WriteFrame(ss.wbuf)
	ss.wphase.Add(1)
	ss.wmu.Unlock()
	if err != nil {
		return false
	}
	ss.srv.stats.shmFramesOut.Add(1)
	return true
}

// pushNotice queues a notice frame unless PendingMax notices are queued
// already; it never waits.
func (ss *shmSession) pushNotice(frame []byte) bool {
	ss.nmu.Lock()
	if ss.dead || ss.nqFrames >= ss.srv.cfg.PendingMax {
		ss.nmu.Unlock()
		return false
	}
	ss.nq = append(ss.nq, frame...)
	ss.nqFrames++
	ss.nmu.Unlock()
	select {
	case ss.nwake <- struct{}{}:
	default:
	}
	return true
}

// noticeLoop writes queued notices until the session ends.
func (ss *shmSession) noticeLoop() {
	defer close(ss.noticeDone)
	for {
		select {
		case <-ss.done:
			return
		case <-ss.nwake:
		}
		ss.nmu.Lock()
		batch := ss.nq
		ss.nq, ss.nfree, ss.nqFrames = ss.nfree[:0], nil, 0
		ss.nmu.Unlock()
		var err error
		ss.wmu.Lock()
		for off := 0; off+sbe.SOFHBytes <= len(batch) && err == nil; {
			n := int(binary.BigEndian.Uint32(batch[off:]))
			ss.wphase.Add(1)
			err = ss.ep.WriteFrame(batch[off : off+n])
			ss.wphase.Add(1)
			if err == nil {
				ss.srv.stats.shmFramesOut.Add(1)
			}
			off += n
		}
		ss.wmu.Unlock()
		if err != nil {
			return // the endpoint is gone: the reader sees it too
		}
		ss.nmu.Lock()
		ss.nfree = batch[:0]
		ss.nmu.Unlock()
	}
}

// shmWatch closes sessions that stayed idle for IdleTimeout or left a
// response write blocked for WriteTimeout (shmring calls have no
// deadlines; closing the endpoint unblocks them).
func (s *Server) shmWatch(slots []*shmSlot) {
	defer s.wg.Done()
	period := min(max(min(s.cfg.IdleTimeout, s.cfg.WriteTimeout)/8, shmWatchPeriodMin), shmWatchPeriodMax)
	type seen struct {
		ss       *shmSession
		r, w     uint64
		rAt, wAt time.Time
		killed   bool
	}
	obs := make([]seen, len(slots))
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		var now time.Time
		select {
		case <-s.stop:
			return
		case now = <-t.C:
		}
		for i, sl := range slots {
			ss, o := sl.sess.Load(), &obs[i]
			if ss != o.ss {
				*o = seen{ss: ss, rAt: now, wAt: now}
				if ss != nil {
					o.r, o.w = ss.rphase.Load(), ss.wphase.Load()
				}
				continue
			}
			if ss == nil || o.killed {
				continue
			}
			r, w := ss.rphase.Load(), ss.wphase.Load()
			switch {
			case r != o.r:
				o.r, o.rAt = r, now
			case r&1 == 1 && now.Sub(o.rAt) >= s.cfg.IdleTimeout:
				s.stats.shmIdleClosed.Add(1)
				o.killed = true
			}
			switch {
			case w != o.w:
				o.w, o.wAt = w, now
			case w&1 == 1 && !o.killed && now.Sub(o.wAt) >= s.cfg.WriteTimeout:
				s.stats.shmWriteTimeouts.Add(1)
				o.killed = true
			}
			if o.killed {
				sl.closeEndpoint(ss.ep)
			}
		}
	}
}
