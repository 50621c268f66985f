package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meritnet/merit/internal/backoff"
)

// FollowOptions tune a Follower. The zero value is usable.
type FollowOptions[T any] struct {
	// Poll is how often the value is read when no block arrived in the
	// meantime: the fallback while the block stream is down (default 2 s).
	Poll time.Duration
	// Timeout bounds one read (default 10 s).
	Timeout time.Duration
	// OnUpdate, if set, sees every value a read published.
	OnUpdate func(v *T)
	// OnError, if set, sees every failed read (not those cut short by the
	// Run context ending).
	OnError func(error)
	// OnStreamDown, if set, is told when the block stream could not be
	// opened or closed, and when it will be tried again.
	OnStreamDown func(err error, retryIn time.Duration)
}

// Stream (re)open spacing when Blocks itself fails: the stream reconnects
// on its own once open, so this only covers a node that is down at start
// or a client that was closed.
const (
	followRetryMin = time.Second
	followRetryMax = time.Minute
)

// errStreamClosed is what OnStreamDown hears when the block channel closed
// while the follower was still running.
var errStreamClosed = errors.New("chain: block stream closed")

// Follower keeps a value read from the chain fresh: it reads it again on
// every new block of the chain's block stream, and every Poll interval when
// no block came (the stream is down, or the chain is quiet). Reads never
// step back: a read that reports an older height than the current value's
// (a lagging node, two reads finishing out of order) is dropped. When reads
// fail the last good value stays current.
//
// Blocks that queued up while a read ran are answered by one read.
type Follower[T any] struct {
	blocks BlockStreamer
	read   func(ctx context.Context) (*T, int64, error)
	opts   FollowOptions[T]

	mu      sync.Mutex
	cur     *T
	height  int64
	readAt  time.Time // of the current value
	lastErr error     // of the last read, nil after a success
	subs    []chan struct{}
	waiters []chan struct{}
}

// NewFollower follows the value read returns; read reports the height the
// value was read at. Call Refresh for a first value, then Run.
func NewFollower[T any](blocks BlockStreamer, read func(ctx context.Context) (*T, int64, error), opts FollowOptions[T]) *Follower[T] {
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &Follower[T]{blocks: blocks, read: read, opts: opts}
}

// Current is the latest value, nil before the first successful read.
func (f *Follower[T]) Current() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// LastError is the error of the last read, nil after a success.
func (f *Follower[T]) LastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// Subscribe returns a channel that receives a signal after each read that
// published a value. Signals coalesce: a slow reader sees the latest value
// through Current.
func (f *Follower[T]) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch
}

// Updated returns a channel closed by the next read that publishes a value.
func (f *Follower[T]) Updated() <-chan struct{} {
	ch := make(chan struct{})
	f.mu.Lock()
	f.waiters = append(f.waiters, ch)
	f.mu.Unlock()
	return ch
}

// Refresh reads the value once and publishes it unless a newer one is
// current; it returns the current value.
func (f *Follower[T]) Refresh(ctx context.Context) (*T, error) {
	rctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	v, h, err := f.read(rctx)
	f.mu.Lock()
	if err != nil {
		f.lastErr = err
		f.mu.Unlock()
		if f.opts.OnError != nil && ctx.Err() == nil {
			f.opts.OnError(err)
		}
		return nil, err
	}
	f.lastErr = nil
	if f.cur != nil && f.height > h {
		cur := f.cur
		f.mu.Unlock()
		return cur, nil
	}
	f.cur, f.height, f.readAt = v, h, time.Now()
	for _, ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	waiters := f.waiters
	f.waiters = nil
	f.mu.Unlock()
	for _, ch := range waiters {
		close(ch)
	}
	if f.opts.OnUpdate != nil {
		f.opts.OnUpdate(v)
	}
	return v, nil
}

// WaitFirst blocks until a first value exists or ctx ends.
func (f *Follower[T]) WaitFirst(ctx context.Context) (*T, error) {
	for {
		ch := f.Updated()
		if v := f.Current(); v != nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			if err := f.LastError(); err != nil {
				return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
			}
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// Run reads the value on every new block and every Poll interval without
// one, until ctx ends. It reads once at once.
func (f *Follower[T]) Run(ctx context.Context) {
	_, _ = f.Refresh(ctx)
	ticker := time.NewTicker(f.opts.Poll)
	defer ticker.Stop()
	retry := backoff.New(followRetryMin, followRetryMax)
	var blocks <-chan Block
	reopen := time.After(0)
	streamDown := func(err error) {
		d := retry.Next()
		if f.opts.OnStreamDown != nil {
			f.opts.OnStreamDown(err, d)
		}
		reopen = time.After(d)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-reopen:
			reopen = nil
			ch, err := f.blocks.Blocks(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				streamDown(err)
				continue
			}
			blocks = ch
			retry.Reset()
		case b, ok := <-blocks:
			if ok {
				b, ok = latest(blocks, b)
			}
			if !ok {
				if ctx.Err() != nil {
					return
				}
				blocks = nil
				streamDown(errStreamClosed)
				continue
			}
			if f.heightNow() >= b.Height {
				continue // a replayed height the current value already covers
			}
			_, _ = f.Refresh(ctx)
		case <-ticker.C:
			if f.age() >= f.opts.Poll {
				_, _ = f.Refresh(ctx)
			}
		}
	}
}

// latest drains what queued up behind b and returns the newest block; ok is
// false when the channel closed.
func latest(blocks <-chan Block, b Block) (Block, bool) {
	for {
		select {
		case next, ok := <-blocks:
			if !ok {
				return b, false
			}
			b = next
		default:
			return b, true
		}
	}
}

func (f *Follower[T]) heightNow() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		return -1
	}
	return f.height
}

// age is how long ago the current value was read (forever when none).
func (f *Follower[T]) age() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(f.readAt)
}
