package logthrottle

import (
	"testing"
	"time"
)

func TestAllowOncePerInterval(t *testing.T) {
	th := New(time.Minute)
	now := time.Unix(1000, 0)
	if !th.Allow("a", now) {
		t.Fatal("first message held back")
	}
	if th.Allow("a", now.Add(59*time.Second)) {
		t.Fatal("second message within the interval let through")
	}
	if !th.Allow("b", now) {
		t.Fatal("keys are independent")
	}
	if !th.Allow("a", now.Add(time.Minute)) {
		t.Fatal("message after the interval held back")
	}
}

func TestClearReportsRecovery(t *testing.T) {
	th := New(time.Minute)
	now := time.Unix(1000, 0)
	if th.Clear("a") {
		t.Fatal("nothing was active")
	}
	th.Allow("a", now)
	if !th.Clear("a") {
		t.Fatal("active condition not reported")
	}
	if !th.Allow("a", now.Add(time.Second)) {
		t.Fatal("a new condition after Clear is held back")
	}
}
