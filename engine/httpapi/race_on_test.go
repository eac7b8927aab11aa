//go:build race

package httpapi

// raceEnabled: the race detector adds allocations, so allocation bounds
// are not checked.
const raceEnabled = true
