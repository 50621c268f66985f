// Package logthrottle keeps a recurring condition visible in the log
// without drowning it: a message is let through when its condition starts
// and then at most once per interval while it lasts.
package logthrottle

import (
	"sync"
	"time"
)

// Throttle decides, per key, whether a message may be logged now. It is
// safe for concurrent use.
type Throttle struct {
	every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

// New lets each key through at most once every interval.
func New(every time.Duration) *Throttle {
	return &Throttle{every: every, last: map[string]time.Time{}}
}

// Allow reports whether key's message may be logged at now, and if so
// starts a new interval for key.
func (t *Throttle) Allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[key]; ok && now.Sub(last) < t.every {
		return false
	}
	t.last[key] = now
	return true
}

// Clear ends key's condition and reports whether it was active, so that a
// caller can log the recovery once; the next Allow for key passes.
func (t *Throttle) Clear(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.last[key]
	delete(t.last, key)
	return ok
}
