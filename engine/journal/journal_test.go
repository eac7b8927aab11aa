package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logBuf collects log output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testOpts(lb *logBuf) Options {
	if lb == nil {
		lb = &logBuf{}
	}
	return Options{Logger: slog.New(slog.NewTextHandler(lb, nil))}
}

func mustOpen(t testing.TB, dir string, opts Options) (*Journal, RecoveryInfo) {
	t.Helper()
	j, info, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j, info
}

// payload is a deterministic record for sequence number seq.
func payload(seq uint64) []byte {
	n := 1 + int(seq*7%50)
	b := make([]byte, 8, 8+n)
	binary.LittleEndian.PutUint64(b, seq)
	for i := 0; i < n; i++ {
		b = append(b, byte(seq+uint64(i)))
	}
	return b
}

func appendN(t testing.TB, j *Journal, from, to uint64) {
	t.Helper()
	for s := from; s <= to; s++ {
		got, err := j.Append(context.Background(), payload(s))
		if err != nil {
			t.Fatalf("Append %d: %v", s, err)
		}
		if got != s {
			t.Fatalf("Append returned seq %d, want %d", got, s)
		}
	}
}

// collect replays from and returns the sequence numbers seen, checking
// every payload.
func collect(t testing.TB, j *Journal, from uint64) []uint64 {
	t.Helper()
	var seqs []uint64
	err := j.Replay(from, func(seq uint64, rec []byte) error {
		if !bytes.Equal(rec, payload(seq)) {
			return fmt.Errorf("seq %d: payload mismatch", seq)
		}
		seqs = append(seqs, seq)
		return nil
	})
	if err != nil {
		t.Fatalf("Replay(%d): %v", from, err)
	}
	return seqs
}

func checkRange(t testing.TB, seqs []uint64, first, last uint64) {
	t.Helper()
	if uint64(len(seqs)) != last-first+1 && !(last < first && len(seqs) == 0) {
		t.Fatalf("replayed %d records, want %d..%d", len(seqs), first, last)
	}
	for i, s := range seqs {
		if s != first+uint64(i) {
			t.Fatalf("record %d has seq %d, want %d", i, s, first+uint64(i))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j, info := mustOpen(t, dir, testOpts(nil))
	if info.LastSeq != 0 || info.FirstSeq != 1 || info.HasSnapshot || info.TruncatedBytes != 0 {
		t.Fatalf("fresh RecoveryInfo = %+v", info)
	}
	appendN(t, j, 1, 100)
	checkRange(t, collect(t, j, 0), 1, 100)
	checkRange(t, collect(t, j, 40), 40, 100)
	if got := collect(t, j, 101); len(got) != 0 {
		t.Fatalf("Replay past the end returned %d records", len(got))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	j, info = mustOpen(t, dir, testOpts(nil))
	defer j.Close()
	if info.FirstSeq != 1 || info.LastSeq != 100 || info.TruncatedBytes != 0 {
		t.Fatalf("reopen RecoveryInfo = %+v", info)
	}
	appendN(t, j, 101, 120)
	checkRange(t, collect(t, j, 1), 1, 120)
}

func TestConcurrentAppenders(t *testing.T) {
	const writers, each = 8, 150
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.GroupRecordsMax = 5 // force back-pressure on the queue as well
	j, _ := mustOpen(t, dir, opts)
	acked := make([][]uint64, writers) // acked[w][i] = seq of writer w's record i
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := make([]byte, 16)
			for i := range each {
				binary.LittleEndian.PutUint64(rec[0:8], uint64(w))
				binary.LittleEndian.PutUint64(rec[8:16], uint64(i))
				seq, err := j.Append(context.Background(), rec)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				acked[w] = append(acked[w], seq)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	check := func(j *Journal) {
		t.Helper()
		next := make([]uint64, writers)
		var n uint64
		err := j.Replay(0, func(seq uint64, rec []byte) error {
			n++
			if seq != n {
				return fmt.Errorf("seq %d at position %d", seq, n)
			}
			w := binary.LittleEndian.Uint64(rec[0:8])
			i := binary.LittleEndian.Uint64(rec[8:16])
			if w >= writers || i != next[w] {
				return fmt.Errorf("seq %d: writer %d record %d out of order (want %d)", seq, w, i, next[w])
			}
			if acked[w][i] != seq {
				return fmt.Errorf("writer %d record %d acknowledged as %d, logged as %d", w, i, acked[w][i], seq)
			}
			next[w]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != writers*each {
			t.Fatalf("replayed %d records, want %d", n, writers*each)
		}
	}
	check(j)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, _ = mustOpen(t, dir, testOpts(nil))
	defer j.Close()
	check(j)
}

// segFiles lists the segment paths in dir, oldest first.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// recordOffsets returns the start offset of every record in a segment file.
func recordOffsets(t testing.TB, b []byte) []int {
	t.Helper()
	var offs []int
	for off := segHeaderBytes; off < len(b); {
		offs = append(offs, off)
		off += recHeaderBytes + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTornTailEveryOffset(t *testing.T) {
	const n = 6
	base := t.TempDir()
	j, _ := mustOpen(t, base, testOpts(nil))
	appendN(t, j, 1, n)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, base)
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	full, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	offs := recordOffsets(t, full)
	lastStart := offs[n-1]
	for cut := lastStart; cut < len(full); cut++ {
		dir := t.TempDir()
		copyDir(t, base, dir)
		seg := filepath.Join(dir, filepath.Base(segs[0]))
		if err := os.Truncate(seg, int64(cut)); err != nil {
			t.Fatal(err)
		}
		lb := &logBuf{}
		j, info := mustOpen(t, dir, testOpts(lb))
		wantCut := int64(cut - lastStart)
		if info.TruncatedBytes != wantCut || info.LastSeq != n-1 {
			t.Fatalf("cut at %d: RecoveryInfo = %+v, want %d bytes cut, last seq %d", cut, info, wantCut, n-1)
		}
		if wantCut > 0 && (info.TruncatedOffset != int64(lastStart) || !strings.Contains(lb.String(), "truncated torn tail")) {
			t.Fatalf("cut at %d: offset %d, log %q", cut, info.TruncatedOffset, lb.String())
		}
		checkRange(t, collect(t, j, 0), 1, n-1)
		appendN(t, j, n, n) // the lost record's seq is reused: it was never acknowledged
		checkRange(t, collect(t, j, 0), 1, n)
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCorruptTailCRC(t *testing.T) {
	dir := t.TempDir()
	j, _ := mustOpen(t, dir, testOpts(nil))
	appendN(t, j, 1, 10)
	j.Close()
	seg := segFiles(t, dir)[0]
	b, _ := os.ReadFile(seg)
	offs := recordOffsets(t, b)
	b[offs[9]+recHeaderBytes+3] ^= 0x40
	if err := os.WriteFile(seg, b, 0o640); err != nil {
		t.Fatal(err)
	}
	lb := &logBuf{}
	j, info := mustOpen(t, dir, testOpts(lb))
	defer j.Close()
	if info.LastSeq != 9 || info.TruncatedBytes != int64(len(b)-offs[9]) || !strings.Contains(info.TruncateReason, "CRC") {
		t.Fatalf("RecoveryInfo = %+v", info)
	}
	if !strings.Contains(lb.String(), "truncated torn tail") {
		t.Fatalf("no log line: %q", lb.String())
	}
	checkRange(t, collect(t, j, 0), 1, 9)
	if st, _ := os.Stat(seg); st.Size() != int64(offs[9]) {
		t.Fatalf("segment is %d bytes after recovery, want %d", st.Size(), offs[9])
	}
}

func TestCorruptMiddleIsError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flip  func(b []byte, offs []int) // damages one record
		inSeg int                        // which segment to damage
	}{
		{"crc", func(b []byte, offs []int) { b[offs[2]+recHeaderBytes] ^= 1 }, -1},
		{"length", func(b []byte, offs []int) { b[offs[2]+1] ^= 0x7f }, -1},
		{"seq", func(b []byte, offs []int) { b[offs[2]+8] ^= 1 }, -1},
		{"earlier segment tail", func(b []byte, offs []int) { b[len(b)-1] ^= 1 }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(nil)
			opts.RecordBytesMax, opts.GroupBytesMax, opts.SegmentBytesMax = 64, 128, 1<<20
			if tc.inSeg >= 0 {
				opts.SegmentBytesMax = 2048
			}
			j, _ := mustOpen(t, dir, opts)
			appendN(t, j, 1, 100)
			j.Close()
			segs := segFiles(t, dir)
			if tc.inSeg >= 0 && len(segs) < 2 {
				t.Fatalf("%d segments", len(segs))
			}
			seg := segs[len(segs)-1]
			if tc.inSeg >= 0 {
				seg = segs[tc.inSeg]
			}
			b, _ := os.ReadFile(seg)
			if len(b) < 600 {
				t.Fatalf("segment only %d bytes", len(b))
			}
			tc.flip(b, recordOffsets(t, b))
			if err := os.WriteFile(seg, b, 0o640); err != nil {
				t.Fatal(err)
			}
			_, _, err := Open(dir, opts)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			// Nothing was truncated.
			if b2, _ := os.ReadFile(seg); !bytes.Equal(b, b2) {
				t.Fatal("Open modified a corrupt segment")
			}
		})
	}
}

func TestSequenceGapIsError(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.RecordBytesMax, opts.GroupBytesMax, opts.SegmentBytesMax = 64, 128, 512
	j, _ := mustOpen(t, dir, opts)
	appendN(t, j, 1, 60)
	j.Close()
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	if err := os.Remove(segs[1]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir, opts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestTornSegmentHeader(t *testing.T) {
	for _, size := range []int{0, 5, segHeaderBytes} {
		dir := t.TempDir()
		j, _ := mustOpen(t, dir, testOpts(nil))
		appendN(t, j, 1, 5)
		j.Close()
		name := segName(6)
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o640); err != nil {
			t.Fatal(err)
		}
		j, info := mustOpen(t, dir, testOpts(nil))
		if info.LastSeq != 5 || len(info.RemovedFiles) != 1 || info.RemovedFiles[0] != name {
			t.Fatalf("size %d: RecoveryInfo = %+v", size, info)
		}
		appendN(t, j, 6, 8)
		checkRange(t, collect(t, j, 0), 1, 8)
		j.Close()
	}
}

func TestSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	j, _ := mustOpen(t, dir, testOpts(nil))
	appendN(t, j, 1, 100)
	state := bytes.Repeat([]byte("state-at-60 "), 1000)
	if err := j.WriteSnapshot(60, bytes.NewReader(state)); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteSnapshot(101, bytes.NewReader(state)); !errors.Is(err, ErrSnapshotAhead) {
		t.Fatalf("snapshot ahead: %v", err)
	}
	appendN(t, j, 101, 140)
	j.Close()

	j, info := mustOpen(t, dir, testOpts(nil))
	defer j.Close()
	if !info.HasSnapshot || info.SnapshotSeq != 60 || info.LastSeq != 140 {
		t.Fatalf("RecoveryInfo = %+v", info)
	}
	seq, data, ok, err := j.LatestSnapshot()
	if err != nil || !ok || seq != 60 || !bytes.Equal(data, state) {
		t.Fatalf("LatestSnapshot = %d, %d bytes, %v, %v", seq, len(data), ok, err)
	}
	checkRange(t, collect(t, j, info.SnapshotSeq+1), 61, 140)
}

func TestSnapshotSizeBound(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.SnapshotBytesMax = 100
	j, _ := mustOpen(t, dir, opts)
	defer j.Close()
	if err := j.WriteSnapshot(0, bytes.NewReader(make([]byte, 101))); !errors.Is(err, ErrSnapshotSize) {
		t.Fatalf("WriteSnapshot = %v", err)
	}
	if _, _, ok, err := j.LatestSnapshot(); ok || err != nil {
		t.Fatalf("a refused snapshot is visible: %v %v", ok, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+tmpSuffix)); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestCorruptSnapshotIsError(t *testing.T) {
	dir := t.TempDir()
	j, _ := mustOpen(t, dir, testOpts(nil))
	appendN(t, j, 1, 10)
	if err := j.WriteSnapshot(5, bytes.NewReader([]byte("hello snapshot"))); err != nil {
		t.Fatal(err)
	}
	j.Close()
	p := filepath.Join(dir, snapName(5))
	b, _ := os.ReadFile(p)
	b[snapHeaderBytes+2] ^= 1
	os.WriteFile(p, b, 0o640)
	if _, _, err := Open(dir, testOpts(nil)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.RecordBytesMax, opts.GroupBytesMax, opts.SegmentBytesMax = 64, 128, 512
	j, _ := mustOpen(t, dir, opts)
	appendN(t, j, 1, 200)
	before := segFiles(t, dir)
	if len(before) < 5 {
		t.Fatalf("only %d segments", len(before))
	}
	if err := j.WriteSnapshot(10, bytes.NewReader([]byte("s10"))); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteSnapshot(150, bytes.NewReader([]byte("s150"))); err != nil {
		t.Fatal(err)
	}
	if err := j.WriteSnapshot(100, bytes.NewReader([]byte("old"))); !errors.Is(err, ErrSnapshotStale) {
		t.Fatalf("stale snapshot: %v", err)
	}
	after := segFiles(t, dir)
	first := j.FirstSeq()
	if len(after) >= len(before) || first > 151 || first < 2 {
		t.Fatalf("segments %d -> %d, first seq %d", len(before), len(after), first)
	}
	// Every dropped segment is fully covered: the next kept one starts <= 151.
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+snapSuffix)); len(m) != 1 {
		t.Fatalf("snapshots kept: %v", m)
	}
	if err := j.Replay(first-1, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Replay before the log start: %v", err)
	}
	checkRange(t, collect(t, j, 151), 151, 200)
	appendN(t, j, 201, 210)
	j.Close()
	j, info := mustOpen(t, dir, opts)
	defer j.Close()
	if info.SnapshotSeq != 150 || info.FirstSeq != first || info.LastSeq != 210 {
		t.Fatalf("RecoveryInfo = %+v (first %d)", info, first)
	}
	checkRange(t, collect(t, j, first), first, 210)
}

func TestCompactAllButActive(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.RecordBytesMax, opts.GroupBytesMax, opts.SegmentBytesMax = 64, 128, 512
	j, _ := mustOpen(t, dir, opts)
	appendN(t, j, 1, 50)
	if err := j.WriteSnapshot(50, bytes.NewReader([]byte("all"))); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments after a full snapshot", n)
	}
	j.Close()
	j, info := mustOpen(t, dir, opts)
	defer j.Close()
	if info.SnapshotSeq != 50 || info.LastSeq != 50 {
		t.Fatalf("RecoveryInfo = %+v", info)
	}
	if got := collect(t, j, 51); len(got) != 0 {
		t.Fatalf("%d records after the snapshot", len(got))
	}
	appendN(t, j, 51, 55)
	checkRange(t, collect(t, j, 51), 51, 55)
}

func TestLogBehindSnapshotIsError(t *testing.T) {
	dir := t.TempDir()
	j, _ := mustOpen(t, dir, testOpts(nil))
	appendN(t, j, 1, 10)
	if err := j.WriteSnapshot(10, bytes.NewReader([]byte("s"))); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// Lose the last records of the log (as if the disk dropped them).
	seg := segFiles(t, dir)[0]
	b, _ := os.ReadFile(seg)
	offs := recordOffsets(t, b)
	os.Truncate(seg, int64(offs[7]))
	if _, _, err := Open(dir, testOpts(nil)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.RecordBytesMax = 100
	j, _ := mustOpen(t, dir, opts)
	defer j.Close()
	ctx := context.Background()
	if _, err := j.Append(ctx, nil); !errors.Is(err, ErrRecordSize) {
		t.Fatalf("empty record: %v", err)
	}
	if _, err := j.Append(ctx, make([]byte, 101)); !errors.Is(err, ErrRecordSize) {
		t.Fatalf("large record: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := j.Append(cctx, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if s, err := j.Append(ctx, make([]byte, 100)); err != nil || s != 1 {
		t.Fatalf("max record: %d %v", s, err)
	}
	if _, _, err := Open(dir, opts); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	for _, o := range []Options{
		{RecordBytesMax: -1},
		{RecordBytesMax: 1000, GroupBytesMax: 500},
		{GroupBytesMax: 1 << 20, SegmentBytesMax: 1 << 19},
		{GroupDelayMax: -1},
		{GroupBytesMax: 2 << 30, SegmentBytesMax: 4 << 30},
	} {
		if _, _, err := Open(t.TempDir(), o); !errors.Is(err, ErrOptions) {
			t.Fatalf("Open(%+v) = %v, want ErrOptions", o, err)
		}
	}
}

func TestGroupDelay(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.GroupDelayMax = 200_000 // 200 µs
	j, _ := mustOpen(t, dir, opts)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := j.Append(context.Background(), []byte{byte(w)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if j.LastSeq() != 100 {
		t.Fatalf("LastSeq = %d", j.LastSeq())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAppendAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("fsyncs")
	}
	j, _ := mustOpen(t, t.TempDir(), testOpts(nil))
	defer j.Close()
	rec := make([]byte, 128)
	ctx := context.Background()
	appendN(t, j, 1, 3) // warm the waiter free list
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := j.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Append allocates %.1f times per call", allocs)
	}
}

func TestReplayDuringAppendsAndCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(nil)
	opts.RecordBytesMax, opts.GroupBytesMax, opts.SegmentBytesMax = 64, 256, 1024
	j, _ := mustOpen(t, dir, opts)
	defer j.Close()
	appendN(t, j, 1, 20)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		appendN(t, j, 21, 400)
		close(done)
	}()
	for snaps := 0; ; snaps++ {
		select {
		case <-done:
			wg.Wait()
			checkRange(t, collect(t, j, j.FirstSeq()), j.FirstSeq(), 400)
			return
		default:
		}
		// Every replay sees a contiguous prefix from where it starts.
		first := j.FirstSeq()
		seqs := collect(t, j, first)
		if len(seqs) > 0 {
			checkRange(t, seqs, first, seqs[len(seqs)-1])
		}
		if snaps%3 == 0 {
			s := j.LastSeq() / 2
			if err := j.WriteSnapshot(s, bytes.NewReader([]byte("snap"))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	lb := &logBuf{}
	j, _ := mustOpen(t, t.TempDir(), testOpts(lb))
	appendN(t, j, 1, 3)
	// Break the active segment underneath the flusher (it is idle now).
	if err := j.active.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := j.Append(context.Background(), []byte("lost")); !errors.Is(err, ErrFailed) {
			t.Fatalf("Append after a write failure: %v", err)
		}
	}
	if !strings.Contains(lb.String(), "write failed") {
		t.Fatalf("failure not logged: %q", lb.String())
	}
	if j.LastSeq() != 3 {
		t.Fatalf("LastSeq = %d after a failed write", j.LastSeq())
	}
	_ = j.Close() // reports the already-closed segment file
}
