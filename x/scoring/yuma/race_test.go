//go:build race

package yuma

// raceEnabled: the race detector slows the epoch about tenfold and has
// nothing to find in this single-goroutine package, so the largest cases
// are left to the plain test run.
const raceEnabled = true
