package journal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Errors returned by the journal. Corruption errors wrap ErrCorrupt.
var (
	// ErrClosed is returned by operations on a closed Journal.
	ErrClosed = errors.New("journal: closed")
	// ErrCorrupt marks damage that recovery must not repair silently:
	// corruption before the tail, a sequence gap, a bad snapshot.
	ErrCorrupt = errors.New("journal: corrupt")
	// ErrFailed is returned by every Append after a write or fsync failed;
	// the journal must be closed and reopened (which recovers the tail).
	ErrFailed = errors.New("journal: failed")
	// ErrRecordSize is returned for an empty record or one over RecordBytesMax.
	ErrRecordSize = errors.New("journal: record size out of range")
	// ErrSnapshotAhead is returned by WriteSnapshot for a sequence number not
	// yet durable in the log.
	ErrSnapshotAhead = errors.New("journal: snapshot sequence beyond the durable log")
	// ErrSnapshotStale is returned by WriteSnapshot for a sequence number
	// below the latest snapshot's.
	ErrSnapshotStale = errors.New("journal: snapshot older than the latest")
	// ErrSnapshotSize is returned for a snapshot over SnapshotBytesMax.
	ErrSnapshotSize = errors.New("journal: snapshot too large")
	// ErrCompacted is returned by Replay when records it was asked for were
	// dropped by compaction.
	ErrCompacted = errors.New("journal: records compacted away")
	// ErrLocked is returned by Open when another process holds the directory.
	ErrLocked = errors.New("journal: directory locked by another process")
	// ErrOptions is returned by Open for inconsistent Options.
	ErrOptions = errors.New("journal: invalid options")
)

// Default option values.
const (
	DefaultSegmentBytesMax  = 64 << 20
	DefaultRecordBytesMax   = 64 << 10
	DefaultGroupRecordsMax  = 1024
	DefaultGroupBytesMax    = 1 << 20
	DefaultSnapshotBytesMax = 1 << 30
)

// Options configures a Journal. Zero fields take the defaults above.
type Options struct {
	// SegmentBytesMax bounds a segment file; a group that would cross it
	// starts a new segment. It must be at least GroupBytesMax + 32.
	SegmentBytesMax int64
	// RecordBytesMax bounds one record's payload; at most GroupBytesMax-16.
	RecordBytesMax int
	// GroupRecordsMax bounds the records sharing one fsync.
	GroupRecordsMax int
	// GroupBytesMax bounds the bytes (headers included) sharing one fsync,
	// at most 1 GiB. It is also the torn-tail window recovery accepts.
	GroupBytesMax int
	// GroupDelayMax is how long the flusher may wait for a group to fill
	// before syncing it; 0 syncs as soon as the previous fsync is done
	// (records arriving during an fsync still share the next one), which
	// is the recommended setting. The Go runtime sleeps at least about 1ms
	// when every thread is idle, so a sub-millisecond delay costs ~1ms of
	// latency in practice; use it only to cut fsyncs under heavy load.
	GroupDelayMax time.Duration
	// SnapshotBytesMax bounds a snapshot's data.
	SnapshotBytesMax int64
	// Logger receives recovery and failure reports; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) fill() error {
	if o.SegmentBytesMax == 0 {
		o.SegmentBytesMax = DefaultSegmentBytesMax
	}
	if o.RecordBytesMax == 0 {
		o.RecordBytesMax = DefaultRecordBytesMax
	}
	if o.GroupRecordsMax == 0 {
		o.GroupRecordsMax = DefaultGroupRecordsMax
	}
	if o.GroupBytesMax == 0 {
		o.GroupBytesMax = max(DefaultGroupBytesMax, o.RecordBytesMax+recHeaderBytes)
	}
	if o.SnapshotBytesMax == 0 {
		o.SnapshotBytesMax = DefaultSnapshotBytesMax
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.RecordBytesMax < 1, o.GroupRecordsMax < 1, o.GroupDelayMax < 0, o.SnapshotBytesMax < 1:
		return fmt.Errorf("%w: non-positive bound", ErrOptions)
	case o.GroupBytesMax > groupBytesMaxHard:
		return fmt.Errorf("%w: GroupBytesMax %d over %d", ErrOptions, o.GroupBytesMax, groupBytesMaxHard)
	case o.RecordBytesMax > o.GroupBytesMax-recHeaderBytes:
		return fmt.Errorf("%w: RecordBytesMax %d over GroupBytesMax-%d", ErrOptions, o.RecordBytesMax, recHeaderBytes)
	case o.SegmentBytesMax < int64(o.GroupBytesMax)+segHeaderBytes:
		return fmt.Errorf("%w: SegmentBytesMax %d under GroupBytesMax+%d", ErrOptions, o.SegmentBytesMax, segHeaderBytes)
	}
	return nil
}

// RecoveryInfo reports what Open found and repaired.
type RecoveryInfo struct {
	// SnapshotSeq is the latest snapshot's sequence number (valid when
	// HasSnapshot); replay the log from SnapshotSeq+1.
	SnapshotSeq uint64
	// HasSnapshot says whether a snapshot exists.
	HasSnapshot bool
	// FirstSeq and LastSeq bound the records in the log (FirstSeq > LastSeq
	// when it holds none).
	FirstSeq, LastSeq uint64
	// Segments is the number of segment files.
	Segments int
	// TruncatedSegment names the segment whose torn tail was cut ("" if none).
	TruncatedSegment string
	// TruncatedOffset is where it was cut; TruncatedBytes how much was cut.
	TruncatedOffset, TruncatedBytes int64
	// TruncateReason says what was wrong with the first cut record.
	TruncateReason string
	// RemovedFiles lists leftovers deleted: temporary snapshot files and a
	// last segment whose header was never completely written.
	RemovedFiles []string
}

// segment is one segment file known to the journal.
type segment struct {
	firstSeq uint64
	path     string
}

// waiter is one Append waiting for its group's fsync.
type waiter struct {
	done chan error
}

// group is a batch of records sharing one write and one fsync.
type group struct {
	buf      []byte
	waiters  []*waiter
	firstSeq uint64
	lastSeq  uint64
}

func (g *group) reset() {
	g.buf = g.buf[:0]
	clear(g.waiters)
	g.waiters = g.waiters[:0]
	g.firstSeq, g.lastSeq = 0, 0
}

// Journal is a durable, group-committed append-only log with snapshots.
// All methods are safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// mu guards the fields below it.
	mu      sync.Mutex
	space   *sync.Cond // signalled when fill is swapped out or on close
	fill    *group     // records being queued
	spare   *group     // the group the flusher hands back
	nextSeq uint64
	failed  error
	closing bool
	free    []*waiter

	kick chan struct{} // the fill group went non-empty, or closing
	full chan struct{} // the fill group reached a bound
	done chan struct{} // flusher exited

	// segMu guards the segment list and the durable position, which the
	// flusher owns and Replay and compaction read.
	segMu       sync.Mutex
	segs        []segment
	durableSeq  uint64
	durableEnd  int64 // durable bytes in the last segment
	compactMu   sync.RWMutex
	snapMu      sync.Mutex
	snapSeq     uint64 // latest snapshot's seq (valid when hasSnap); under snapMu
	hasSnap     bool
	closeOnce   sync.Once
	closeErr    error
	active      *os.File // flusher-owned
	activeBytes int64    // flusher-owned
	activeHdr   segHeader
	commits     uint64 // groups written and fsynced; flusher-owned
}

// Open opens (creating if needed) the journal in dir, recovers it and
// starts its flusher. The RecoveryInfo says what the caller must restore:
// LatestSnapshot, then Replay(SnapshotSeq+1, …).
func Open(dir string, opts Options) (*Journal, RecoveryInfo, error) {
	if err := opts.fill(); err != nil {
		return nil, RecoveryInfo{}, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, RecoveryInfo{}, fmt.Errorf("journal: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, RecoveryInfo{}, err
	}
	j := &Journal{
		dir:   dir,
		opts:  opts,
		log:   opts.Logger,
		lock:  lock,
		kick:  make(chan struct{}, 1),
		full:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		fill:  newGroup(opts),
		spare: newGroup(opts),
	}
	j.space = sync.NewCond(&j.mu)
	info, err := j.recover()
	if err != nil {
		if j.active != nil {
			_ = j.active.Close()
		}
		_ = lock.Close()
		return nil, info, err
	}
	go j.flusher()
	return j, info, nil
}

func newGroup(opts Options) *group {
	return &group{
		buf:     make([]byte, 0, opts.GroupBytesMax),
		waiters: make([]*waiter, 0, opts.GroupRecordsMax),
	}
}

// Append writes rec to the log and returns its sequence number once it is
// durable (written and fsynced together with its group). rec may be reused
// as soon as Append returns. If ctx ends first, Append returns ctx.Err() and
// the record may or may not become durable: it is not acknowledged. The
// wait for queue space (at most one group's fsync) does not observe ctx.
func (j *Journal) Append(ctx context.Context, rec []byte) (uint64, error) {
	if len(rec) == 0 || len(rec) > j.opts.RecordBytesMax {
		return 0, ErrRecordSize
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	need := recHeaderBytes + len(rec)
	j.mu.Lock()
	for {
		if j.closing {
			j.mu.Unlock()
			return 0, ErrClosed
		}
		if j.failed != nil {
			err := j.failed
			j.mu.Unlock()
			return 0, err
		}
		g := j.fill
		if len(g.waiters) < cap(g.waiters) && len(g.buf)+need <= cap(g.buf) {
			break
		}
		j.space.Wait()
	}
	g := j.fill
	seq := j.nextSeq
	j.nextSeq++
	if len(g.waiters) == 0 {
		g.firstSeq = seq
	}
	g.lastSeq = seq
	g.buf = appendRecord(g.buf, seq, rec)
	var w *waiter
	if n := len(j.free); n > 0 {
		w = j.free[n-1]
		j.free[n-1] = nil
		j.free = j.free[:n-1]
	} else {
		w = &waiter{done: make(chan error, 1)}
	}
	g.waiters = append(g.waiters, w)
	first := len(g.waiters) == 1
	isFull := len(g.waiters) == cap(g.waiters) || cap(g.buf)-len(g.buf) < recHeaderBytes+1
	j.mu.Unlock()
	if first {
		notify(j.kick)
	}
	if isFull {
		notify(j.full)
	}
	select {
	case err := <-w.done:
		j.mu.Lock()
		j.free = append(j.free, w)
		j.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return seq, nil
	case <-ctx.Done():
		select {
		case err := <-w.done: // the group finished as ctx ended: report it
			if err != nil {
				return 0, err
			}
			return seq, nil
		default:
		}
		// The flusher still sends on w.done (buffered); w is dropped.
		return 0, ctx.Err()
	}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// flusher writes and fsyncs groups until the journal closes.
func (j *Journal) flusher() {
	defer close(j.done)
	var timer *time.Timer
	if j.opts.GroupDelayMax > 0 {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	for {
		<-j.kick
		if timer != nil {
			timer.Reset(j.opts.GroupDelayMax)
			select {
			case <-timer.C:
			case <-j.full:
				timer.Stop()
			}
		}
		for {
			j.mu.Lock()
			g := j.fill
			closing := j.closing
			if len(g.waiters) == 0 {
				j.mu.Unlock()
				if closing {
					return
				}
				break
			}
			j.fill, j.spare = j.spare, nil
			failed := j.failed
			j.space.Broadcast()
			j.mu.Unlock()

			err := failed
			if err == nil {
				err = j.commit(g)
				if err != nil {
					err = fmt.Errorf("%w: %w", ErrFailed, err)
					j.log.Error("journal: write failed; appends refused until reopen",
						"dir", j.dir, "first_seq", g.firstSeq, "err", err)
					j.mu.Lock()
					j.failed = err
					j.mu.Unlock()
				}
			}
			for _, w := range g.waiters {
				w.done <- err
			}
			g.reset()
			j.mu.Lock()
			j.spare = g
			j.mu.Unlock()
			if !closing {
				break
			}
		}
	}
}

// commit writes one group to the active segment (starting a new segment
// first when the group would overflow it) and fsyncs it.
func (j *Journal) commit(g *group) error {
	if j.activeBytes+int64(len(g.buf)) > j.opts.SegmentBytesMax && j.activeBytes > segHeaderBytes {
		if err := j.rotate(g.firstSeq); err != nil {
			return err
		}
	}
	if _, err := j.active.Write(g.buf); err != nil {
		return err
	}
	if err := j.active.Sync(); err != nil {
		return err
	}
	j.activeBytes += int64(len(g.buf))
	j.commits++
	j.segMu.Lock()
	j.durableSeq = g.lastSeq
	j.durableEnd = j.activeBytes
	j.segMu.Unlock()
	return nil
}

// rotate starts the segment whose first record is firstSeq. The current
// segment is already synced (every group is).
func (j *Journal) rotate(firstSeq uint64) error {
	f, err := j.createSegment(firstSeq)
	if err != nil {
		return err
	}
	old := j.active
	j.active, j.activeBytes = f, segHeaderBytes
	j.activeHdr = segHeader{groupBytesMax: uint32(j.opts.GroupBytesMax), firstSeq: firstSeq}
	j.segMu.Lock()
	j.segs = append(j.segs, segment{firstSeq: firstSeq, path: filepath.Join(j.dir, segName(firstSeq))})
	j.durableEnd = segHeaderBytes
	j.segMu.Unlock()
	if err := old.Close(); err != nil {
		j.log.Warn("journal: closing full segment", "err", err)
	}
	return nil
}

// createSegment creates, syncs and links a segment with only its header.
func (j *Journal) createSegment(firstSeq uint64) (*os.File, error) {
	path := filepath.Join(j.dir, segName(firstSeq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	var hdr [segHeaderBytes]byte
	encodeSegHeader(&hdr, segHeader{groupBytesMax: uint32(j.opts.GroupBytesMax), firstSeq: firstSeq})
	if _, err := f.Write(hdr[:]); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := syncDir(j.dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// LastSeq returns the sequence number of the last durable record (0 when
// none was ever written).
func (j *Journal) LastSeq() uint64 {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	return j.durableSeq
}

// FirstSeq returns the sequence number of the oldest record still in the
// log (LastSeq()+1 when compaction left none).
func (j *Journal) FirstSeq() uint64 {
	j.segMu.Lock()
	defer j.segMu.Unlock()
	return j.segs[0].firstSeq
}

// Close flushes queued records, waits for their fsync and closes the
// files. Appends after Close fail with ErrClosed.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closing = true
		j.space.Broadcast()
		j.mu.Unlock()
		notify(j.kick)
		notify(j.full)
		<-j.done
		j.snapMu.Lock()
		defer j.snapMu.Unlock()
		j.compactMu.Lock()
		defer j.compactMu.Unlock()
		j.closeErr = errors.Join(j.active.Close(), j.lock.Close())
	})
	return j.closeErr
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
