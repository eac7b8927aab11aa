//go:build race

package tail

// raceDiv shrinks the randomised case counts under the race detector, which
// slows this CPU-bound code about tenfold; the full counts run without it.
const raceDiv = 5

// raceEnabled reports a build with the race detector, under which
// sync.Pool drops items at random (so pooled paths allocate).
const raceEnabled = true
