package validator

import (
	"testing"
	"time"

	"github.com/meritnet/merit/validator/internal/validatortest"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// A restarted gateway whose URL the chain already lists does not announce
// it again (a transaction per restart, refused by the serving rate limit
// when the restart is quick); a changed URL is announced.
func TestGatewayAnnouncedOnceAcrossRestarts(t *testing.T) {
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(1000, false, id, 0)
	home := t.TempDir()
	start := func(url string) (stop func()) {
		v, err := New(Config{Home: home, Netuid: 1, Listen: "127.0.0.1:0", PollInterval: 50 * time.Millisecond,
			AllowPrivateEndpoints: true, ProbeInterval: time.Hour, Paid: PaidConfig{URL: url}}, f, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return runValidator(t, v)
	}
	announcements := func() (n int) {
		for _, m := range f.Sent() {
			if _, ok := m.(*paymenttypes.MsgServeGateway); ok {
				n++
			}
		}
		return n
	}
	listed := func(url string) func() bool {
		return func() bool { f.Advance(1); return chainState(f).Payment.Gateways[id.Address()] == url }
	}

	const first, second = "http://gw.example:8080/v1", "http://gw.example:9090/v1"
	stop := start(first)
	eventually(t, 10*time.Second, "the first announcement", listed(first))
	stop()

	stop = start(first)
	f.Advance(3)
	time.Sleep(300 * time.Millisecond)
	stop()
	if n := announcements(); n != 1 {
		t.Fatalf("%d announcements of one URL across a restart, want 1", n)
	}

	stop = start(second)
	defer stop()
	eventually(t, 10*time.Second, "the new URL", listed(second))
	if n := announcements(); n != 2 {
		t.Fatalf("%d announcements, want 2 (one per URL)", n)
	}
}
