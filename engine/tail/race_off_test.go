//go:build !race

package tail

// raceDiv shrinks the randomised case counts under the race detector.
const raceDiv = 1

// raceEnabled reports a build with the race detector, under which
// sync.Pool drops items at random (so pooled paths allocate).
const raceEnabled = false
