package verdict

import (
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
)

const (
	// errorCodesCount is the number of ErrorCode values counted (0..15).
	errorCodesCount = 16
	// reasonsCount is the number of Reason values counted (0..8).
	reasonsCount = 9
)

type counters struct {
	connsAccepted, connsRefused, connsClosed, idleClosed atomic.Uint64
	framesIn, framesOut, writeBatches, writeErrors       atomic.Uint64
	logins, loginsDenied, queries                        atomic.Uint64
	fillsApplied, fillsRefused                           atomic.Uint64
	noticesSent, noticesDropped                          atomic.Uint64
	shmAccepted, shmClosed, shmIdleClosed                atomic.Uint64
	shmWriteTimeouts, shmListenErrors                    atomic.Uint64
	shmFramesIn, shmFramesOut                            atomic.Uint64
	errors                                               [errorCodesCount]atomic.Uint64
	verdicts                                             [reasonsCount]atomic.Uint64
	checkNs                                              checkHist
}

// CheckBucketsNs are the upper bounds of the check service-time histogram
// (Stats.CheckCounts): the time Service.Check takes, from the decoded
// request to the filled verdict, both transports.
var CheckBucketsNs = [...]int64{250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000,
	256_000, 512_000, 1_024_000, 10_000_000}

// checkHist counts check service times by CheckBucketsNs (the last counter
// is beyond the last bound); atomic, allocation-free.
type checkHist struct {
	counts [len(CheckBucketsNs) + 1]atomic.Uint64
	sumNs  atomic.Int64
}

func (h *checkHist) record(ns int64) {
	i := 0
	for i < len(CheckBucketsNs) && ns > CheckBucketsNs[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(ns)
}

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(clockBase)) }

var clockBase = time.Now()

// Stats is a snapshot of the server's counters (monotonic since NewServer,
// except Conns, ShmSlots and ShmSessions). The Conns*, IdleClosed, Frames*,
// WriteBatches and WriteErrors fields count TCP only and the Shm* fields the
// shared-memory transport only; the request, notice and error counters
// count both.
type Stats struct {
	// Conns is the number of open TCP connections now.
	Conns int
	// ConnsAccepted, ConnsRefused (over ConnsMax or after Shutdown) and
	// ConnsClosed count connections; IdleClosed counts those closed by
	// IdleTimeout.
	ConnsAccepted, ConnsRefused, ConnsClosed, IdleClosed uint64
	// FramesIn counts TCP frames read (malformed included); FramesOut
	// frames written; WriteBatches the writes that carried them;
	// WriteErrors connections lost on a write.
	FramesIn, FramesOut, WriteBatches, WriteErrors uint64
	// Logins and LoginsDenied count Login outcomes; Queries AccountStatus
	// answers.
	Logins, LoginsDenied, Queries uint64
	// FillsApplied and FillsRefused count Fill outcomes.
	FillsApplied, FillsRefused uint64
	// NoticesSent and NoticesDropped count MarginNotice deliveries per
	// session (dropped: that session's queue was full).
	NoticesSent, NoticesDropped uint64
	// Errors counts Error frames and refused Fills by ErrorCode.
	Errors [errorCodesCount]uint64
	// Verdicts counts Verdicts by Reason (index 0: accepted or rejected
	// without a reason).
	Verdicts [reasonsCount]uint64
	// CheckCounts counts the service time of each authorised OrderCheck
	// by CheckBucketsNs (the last entry: beyond the last bound); CheckSumNs
	// is their total.
	CheckCounts [len(CheckBucketsNs) + 1]uint64
	CheckSumNs  int64

	// ShmSlots is the number of shared-memory slot files served now;
	// ShmSessions the number of those with a client attached.
	ShmSlots, ShmSessions int
	// ShmAccepted and ShmClosed count shared-memory sessions (a client
	// attaching to a slot, and its session ending for any reason);
	// ShmIdleClosed those ended by IdleTimeout, ShmWriteTimeouts those
	// ended because the client left its response ring full for
	// WriteTimeout; ShmListenErrors failed attempts to re-create a slot
	// file.
	ShmAccepted, ShmClosed, ShmIdleClosed, ShmWriteTimeouts, ShmListenErrors uint64
	// ShmFramesIn counts frames read from shared-memory clients (malformed
	// included), ShmFramesOut frames written to them.
	ShmFramesIn, ShmFramesOut uint64
	// BusyPollSpun counts TCP socket reads that found data while spinning
	// (Config.BusyPoll), BusyPollParked those that parked in the network
	// poller (nothing came within BusyPoll, or BusyPollers readers were
	// spinning already). Both stay 0 without BusyPoll.
	BusyPollSpun, BusyPollParked uint64
}

// Stats returns the counters now.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		ConnsAccepted: c.connsAccepted.Load(), ConnsRefused: c.connsRefused.Load(),
		ConnsClosed: c.connsClosed.Load(), IdleClosed: c.idleClosed.Load(),
		FramesIn: c.framesIn.Load(), FramesOut: c.framesOut.Load(),
		WriteBatches: c.writeBatches.Load(), WriteErrors: c.writeErrors.Load(),
		Logins: c.logins.Load(), LoginsDenied: c.loginsDenied.Load(), Queries: c.queries.Load(),
		FillsApplied: c.fillsApplied.Load(), FillsRefused: c.fillsRefused.Load(),
		NoticesSent: c.noticesSent.Load(), NoticesDropped: c.noticesDropped.Load(),
		ShmAccepted: c.shmAccepted.Load(), ShmClosed: c.shmClosed.Load(), ShmIdleClosed: c.shmIdleClosed.Load(),
		ShmWriteTimeouts: c.shmWriteTimeouts.Load(), ShmListenErrors: c.shmListenErrors.Load(),
		ShmFramesIn: c.shmFramesIn.Load(), ShmFramesOut: c.shmFramesOut.Load(),
	}
	for i := range c.errors {
		st.Errors[i] = c.errors[i].Load()
	}
	for i := range c.verdicts {
		st.Verdicts[i] = c.verdicts[i].Load()
	}
	for i := range c.checkNs.counts {
		st.CheckCounts[i] = c.checkNs.counts[i].Load()
	}
	st.CheckSumNs = c.checkNs.sumNs.Load()
	if s.poll.Spins() {
		ps := s.poll.Stats()
		st.BusyPollSpun, st.BusyPollParked = ps.Spun, ps.Parked
	}
	s.mu.Lock()
	st.Conns = len(s.sessions)
	st.ShmSlots, st.ShmSessions = len(s.shmSlots), len(s.shmSess)
	s.mu.Unlock()
	return st
}

// codeIndex maps an ErrorCode to its counter (out-of-schema codes share the
// INTERNAL counter).
func codeIndex(c sbe.ErrorCode) int {
	if int(c) < errorCodesCount {
		return int(c)
	}
	return int(sbe.ErrorCodeInternal)
}

// reasonIndex maps a Reason to its counter (out-of-schema reasons share
// index 0).
func reasonIndex(r sbe.Reason) int {
	if int(r) < reasonsCount {
		return int(r)
	}
	return 0
}
