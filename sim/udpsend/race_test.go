//go:build race

package udpsend

// raceEnabled: the race detector's instrumentation allocates, so allocation
// counts are only asserted without it.
const raceEnabled = true
