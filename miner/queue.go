package miner

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/meritnet/merit/inference"
)

// errQueueFull: every generation slot and queue place is taken.
var errQueueFull = errors.New("queue full")

// admission bounds generation: at most cap(slots) run, at most maxWait
// wait. Generation is CPU-bound, so more parallel work than cores only
// makes every answer slower, and an unbounded queue only makes answers
// later than any validator's timeout; failing fast with 503 lets callers
// go elsewhere.
type admission struct {
	slots   chan struct{}
	maxWait int64
	waiting atomic.Int64
	onDepth func(waiting, running int) // metrics
}

func newAdmission(concurrency, queue int, onDepth func(waiting, running int)) *admission {
	if onDepth == nil {
		onDepth = func(int, int) {}
	}
	return &admission{slots: make(chan struct{}, concurrency), maxWait: int64(queue), onDepth: onDepth}
}

// acquire takes a slot, waiting in the queue if there is room. The returned
// release must be called exactly once.
func (a *admission) acquire(ctx context.Context) (func(), error) {
	select {
	case a.slots <- struct{}{}:
		a.report()
		return a.release, nil
	default:
	}
	if a.waiting.Add(1) > a.maxWait {
		a.waiting.Add(-1)
		return nil, errQueueFull
	}
	a.report()
	defer func() { a.waiting.Add(-1); a.report() }()
	select {
	case a.slots <- struct{}{}:
		return a.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *admission) release() {
	<-a.slots
	a.report()
}

func (a *admission) report() { a.onDepth(int(a.waiting.Load()), len(a.slots)) }

// depth is (waiting, running) now.
func (a *admission) depth() (int, int) { return int(a.waiting.Load()), len(a.slots) }

// batchingEngine is the builtin engine serving by continuous batching
// (inference.Batcher).
type batchingEngine interface {
	Options() inference.BatchOptions
	Stats() inference.BatchStats
}

// admissionSlots is how many generations run at once: the batch of a
// batching engine (it decodes them together, so fewer would leave the batch
// part empty and more would only wait inside the engine), else concurrency.
func admissionSlots(e inference.Engine, concurrency int) int {
	if b, ok := e.(batchingEngine); ok {
		return b.Options().MaxBatch
	}
	return concurrency
}
