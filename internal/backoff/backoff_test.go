package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNextDoublesToMax(t *testing.T) {
	b := New(time.Second, 10*time.Second)
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := b.Next(); got != w*time.Second {
			t.Fatalf("wait %d: %s, want %s", i, got, w*time.Second)
		}
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after reset: %s", got)
	}
}

func TestManyFailuresDoNotOverflow(t *testing.T) {
	b := New(time.Millisecond, time.Minute)
	for range 200 {
		if d := b.Next(); d <= 0 || d > time.Minute {
			t.Fatalf("wait %s out of range", d)
		}
	}
}

func TestFailAndReady(t *testing.T) {
	b := New(time.Second, time.Minute)
	now := time.Unix(1000, 0)
	if !b.Ready(now) {
		t.Fatal("a fresh backoff is ready")
	}
	if d := b.Fail(now); d != time.Second {
		t.Fatalf("first wait %s", d)
	}
	if b.Ready(now.Add(999 * time.Millisecond)) {
		t.Fatal("ready before the wait passed")
	}
	if !b.Ready(now.Add(time.Second)) {
		t.Fatal("not ready once the wait passed")
	}
	if d := b.Fail(now); d != 2*time.Second || b.Fails() != 2 {
		t.Fatalf("second wait %s, fails %d", d, b.Fails())
	}
	b.Reset()
	if !b.Ready(now) || b.Fails() != 0 {
		t.Fatal("reset keeps state")
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	b := New(time.Hour, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	b = New(time.Millisecond, time.Millisecond)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
