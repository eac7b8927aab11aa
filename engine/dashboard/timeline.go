package dashboard

import (
	"fmt"
	"sync"
	"time"
)

// EpochTimeline is a bounded ring of the most recent risk epochs, for the
// dashboard's epoch-duration chart. It is safe for concurrent use.
type EpochTimeline struct {
	mu     sync.Mutex
	points []EpochPoint // ring storage, len == capacity once full
	next   int          // index of the oldest point once full
	full   bool
	last   uint64 // newest id recorded
	any    bool
}

// NewEpochTimeline returns a timeline keeping the last n (1 to EpochsMax)
// epochs.
func NewEpochTimeline(n int) (*EpochTimeline, error) {
	if n < 1 || n > EpochsMax {
		return nil, fmt.Errorf("%w: timeline size %d not in [1, %d]", ErrInvalid, n, EpochsMax)
	}
	return &EpochTimeline{points: make([]EpochPoint, 0, n)}, nil
}

// Record adds an epoch, evicting the oldest when full. Epoch ids increase,
// so an id not above the newest recorded one is ignored (Record returns
// false): polling the latest epoch and recording it each time is safe. A
// negative duration or scenario count is recorded as 0; the backend name
// is cut to BackendBytesMax.
func (t *EpochTimeline) Record(id uint64, backend string, started time.Time, duration time.Duration, scenarios int) bool {
	p := EpochPoint{ID: id, Backend: truncate(backend, BackendBytesMax), Started: started,
		DurationNs: max(int64(duration), 0), Scenarios: max(scenarios, 0)}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.any && id <= t.last {
		return false
	}
	t.last, t.any = id, true
	if !t.full {
		t.points = append(t.points, p)
		t.full = len(t.points) == cap(t.points)
		return true
	}
	t.points[t.next] = p
	t.next++
	if t.next == len(t.points) {
		t.next = 0
	}
	return true
}

// Snapshot returns a copy of the recorded epochs, oldest first.
func (t *EpochTimeline) Snapshot() []EpochPoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]EpochPoint, 0, len(t.points))
	out = append(out, t.points[t.next:]...)
	return append(out, t.points[:t.next]...)
}

// Len returns the number of epochs held.
func (t *EpochTimeline) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.points)
}
