// Package backoff spaces out retries of something that fails: the first
// retry waits Min, each further one twice as long, never more than Max.
package backoff

import (
	"context"
	"time"
)

// Backoff is exponential retry spacing. The zero value is not useful: set
// Min and Max. It is not safe for concurrent use; each retrying loop owns
// its own.
type Backoff struct {
	Min, Max time.Duration

	fails int
	until time.Time
}

// New returns a Backoff from min to max.
func New(minDelay, maxDelay time.Duration) *Backoff {
	return &Backoff{Min: minDelay, Max: maxDelay}
}

// Next counts a failure and returns how long to wait before the next try.
func (b *Backoff) Next() time.Duration {
	d := b.Min
	for i := 0; i < b.fails && d < b.Max; i++ {
		d *= 2
	}
	b.fails++
	return min(d, b.Max)
}

// Fail counts a failure at now and returns the wait, after which Ready
// holds again.
func (b *Backoff) Fail(now time.Time) time.Duration {
	d := b.Next()
	b.until = now.Add(d)
	return d
}

// Ready reports whether the wait set by the last Fail has passed.
func (b *Backoff) Ready(now time.Time) bool { return !now.Before(b.until) }

// Fails is the number of failures since the last Reset.
func (b *Backoff) Fails() int { return b.fails }

// Reset forgets the failures: the next wait is Min again.
func (b *Backoff) Reset() { b.fails, b.until = 0, time.Time{} }

// Wait counts a failure and sleeps for the next wait, or until ctx ends
// (then it returns ctx's error).
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
