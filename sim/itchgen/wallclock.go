package itchgen

import (
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// WallClockNs returns t as an ITCH timestamp: nanoseconds since midnight
// UTC (on Unix time, so leap seconds are not counted).
func WallClockNs(t time.Time) uint64 {
	const day = int64(24 * time.Hour)
	ns := t.UnixNano() % day
	if ns < 0 {
		ns += day
	}
	return uint64(ns)
}

// NextWallClock is Next with the message stamped at wall-clock time now
// (WallClockNs) instead of the session's simulated clock: for a live
// simulated exchange whose receivers measure latency from the send time
// (tick-to-verdict). Call it when the message is sent; the session's
// content and pacing are unchanged.
func (g *Generator) NextWallClock(m *itch.Message, now time.Time) bool {
	if !g.Next(m) {
		return false
	}
	m.Timestamp = WallClockNs(now)
	return true
}
