package inference

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestCrewRunsEveryShare: every share of every step runs exactly once and
// run returns only when all are done, whether the helpers were polling
// (steps back to back), had gone (a pause longer than their polling), or the
// step has more shares than the last.
func TestCrewRunsEveryShare(t *testing.T) {
	var c crew
	for round := range 200 {
		n := 1 + round%3
		var counts [3]atomic.Int32 // counted as each share ends
		c.run(n, func(k int) {
			switch {
			case k > 0 && round%7 == 0:
				time.Sleep(2 * crewSpin) // the caller waits past its polling
			case k == 0 && round%5 == 0:
				time.Sleep(2 * crewSpin) // the helpers poll past theirs
			}
			counts[k].Add(1)
		})
		for k := range 3 {
			want := int32(0)
			if k < n {
				want = 1
			}
			if got := counts[k].Load(); got != want {
				t.Fatalf("round %d (%d shares): share %d finished %d times before run returned", round, n, k, got)
			}
		}
		if round%11 == 0 {
			time.Sleep(2 * crewSpin) // the helpers give up and exit
		}
	}
	// An idle crew leaves no goroutine behind.
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range c.helpers {
		for h.state.Load() != helperGone {
			if time.Now().After(deadline) {
				t.Fatalf("a helper still polls long after the last step (state %d)", h.state.Load())
			}
			time.Sleep(time.Millisecond)
		}
	}
}
