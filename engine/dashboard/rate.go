package dashboard

import (
	"sync"
	"time"
)

// RateMeter turns running totals (packets, messages) into per-second rates
// between observations at least Window apart, so a page polling every
// second sees a steady figure. It is safe for concurrent use.
type RateMeter struct {
	window time.Duration

	mu                sync.Mutex
	at                time.Time
	packets, messages uint64
	pps, mps          float64
	started, known    bool
}

// RateWindowMin and RateWindowMax bound a RateMeter's window.
const (
	RateWindowMin = 10 * time.Millisecond
	RateWindowMax = time.Minute
)

// NewRateMeter returns a meter with the given window, clamped to
// [RateWindowMin, RateWindowMax].
func NewRateMeter(window time.Duration) *RateMeter {
	return &RateMeter{window: min(max(window, RateWindowMin), RateWindowMax)}
}

// Observe records the totals seen at now and returns the rates per second
// over the last completed window; known is false (and the rates 0) until
// one has completed. A total that went down (a counter reset) or a clock
// that went back restarts the measurement.
func (m *RateMeter) Observe(now time.Time, packets, messages uint64) (packetsPerSec, messagesPerSec float64, known bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || packets < m.packets || messages < m.messages || now.Before(m.at) {
		m.at, m.packets, m.messages, m.started = now, packets, messages, true
		m.pps, m.mps, m.known = 0, 0, false
		return 0, 0, false
	}
	if dt := now.Sub(m.at); dt >= m.window {
		s := dt.Seconds()
		m.pps = float64(packets-m.packets) / s
		m.mps = float64(messages-m.messages) / s
		m.at, m.packets, m.messages, m.known = now, packets, messages, true
	}
	return m.pps, m.mps, m.known
}
