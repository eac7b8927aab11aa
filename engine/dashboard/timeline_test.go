package dashboard

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEpochTimelineRing(t *testing.T) {
	for _, n := range []int{0, -1, EpochsMax + 1} {
		if _, err := NewEpochTimeline(n); !errors.Is(err, ErrInvalid) {
			t.Errorf("size %d: %v", n, err)
		}
	}
	tl, err := NewEpochTimeline(4)
	if err != nil {
		t.Fatal(err)
	}
	if s := tl.Snapshot(); len(s) != 0 || s == nil {
		t.Fatalf("empty snapshot %v (want empty, non-nil: JSON [])", s)
	}
	t0 := time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC)
	for id := uint64(1); id <= 10; id++ {
		backend := "cpu"
		if id%2 == 0 {
			backend = "vsim"
		}
		if !tl.Record(id, backend, t0.Add(time.Duration(id)*time.Second), time.Duration(id)*time.Millisecond, 1000) {
			t.Fatalf("Record(%d) refused", id)
		}
		s := tl.Snapshot()
		if want := min(int(id), 4); len(s) != want || tl.Len() != want {
			t.Fatalf("after %d: %d points, want %d", id, len(s), want)
		}
		for i, p := range s {
			wantID := id - uint64(len(s)-1-i)
			if p.ID != wantID || p.DurationNs != int64(wantID)*1e6 || !p.Started.Equal(t0.Add(time.Duration(wantID)*time.Second)) {
				t.Fatalf("after %d: point %d = %+v, want id %d", id, i, p, wantID)
			}
		}
	}
	if tl.Record(10, "cpu", t0, 0, 0) || tl.Record(3, "cpu", t0, 0, 0) {
		t.Error("an old id was recorded")
	}
	if !tl.Record(11, strings.Repeat("x", 100), t0, -time.Second, -5) {
		t.Fatal("Record(11) refused")
	}
	s := tl.Snapshot()
	last := s[len(s)-1]
	if len(last.Backend) != BackendBytesMax || last.DurationNs != 0 || last.Scenarios != 0 {
		t.Errorf("unbounded or negative fields kept: %+v", last)
	}
	// Snapshots are copies.
	s[0].ID = 999
	if tl.Snapshot()[0].ID == 999 {
		t.Error("snapshot aliases the ring")
	}
}

func TestEpochTimelineConcurrent(t *testing.T) {
	tl, _ := NewEpochTimeline(64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := uint64(0)
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				mu.Lock()
				next++
				id := next
				mu.Unlock()
				tl.Record(id, "cpu", time.Time{}, time.Millisecond, 1)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s := tl.Snapshot()
				for j := 1; j < len(s); j++ {
					if s[j].ID <= s[j-1].ID {
						t.Errorf("snapshot out of order: %d after %d", s[j].ID, s[j-1].ID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if tl.Len() != 64 {
		t.Errorf("len %d, want 64", tl.Len())
	}
}

func BenchmarkEpochTimelineRecord(b *testing.B) {
	tl, _ := NewEpochTimeline(EpochsMax)
	t0 := time.Now()
	b.ReportAllocs()
	id := uint64(0)
	for b.Loop() {
		id++
		tl.Record(id, "cpu", t0, time.Millisecond, 1000)
	}
}

func TestEpochTimelineRecordAllocs(t *testing.T) {
	tl, _ := NewEpochTimeline(8)
	id := uint64(0)
	if n := testing.AllocsPerRun(100, func() { id++; tl.Record(id, "vsim", time.Time{}, 1, 1) }); n != 0 {
		t.Errorf("Record allocates %.1f times", n)
	}
}
