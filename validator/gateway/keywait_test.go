package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/reference"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// keyWaitGateway is a paid gateway whose meter knows paidKey at height 10.
func keyWaitGateway(t *testing.T, wait time.Duration) (*Gateway, *httptest.Server, *billing.Meter) {
	t.Helper()
	l, err := billing.OpenLedger(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	meter := billing.NewMeter(l)
	meter.SetBook(billing.NewBook([]paymenttypes.Account{keyAccount(1, paidKey)}, paidNetuid, "merit1gw", paidPrice, 0, 10))
	g := New(Config{Meter: meter, KeyWait: wait, Reference: func() *reference.Reference { return nil }})
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv, meter
}

func keyAccount(id uint64, key string) paymenttypes.Account {
	return paymenttypes.Account{Id: id, Netuid: paidNetuid, KeyHash: validatortest.KeyHash(key), Balance: sdkmath.NewInt(1_000_000),
		SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt()}
}

func getModels(ctx context.Context, url, key string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/models", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// TestNewKeyWaitsForTheNextBook: a key whose account the chain opened in
// the block the gateway is still reading is served once that book is in,
// not refused with 401 (an owner may use a key as soon as the CLI says its
// block included it).
func TestNewKeyWaitsForTheNextBook(t *testing.T) {
	_, srv, meter := keyWaitGateway(t, time.Minute)
	const newKey = "sk-merit-new-0123456789abcdefg"
	done := make(chan int, 1)
	go func() {
		code, err := getModels(context.Background(), srv.URL, newKey)
		if err != nil {
			t.Error(err)
		}
		done <- code
	}()
	select {
	case code := <-done:
		t.Fatalf("answered %d before the book with the key", code)
	case <-time.After(200 * time.Millisecond):
	}
	// A newer book without the key: still waiting.
	meter.SetBook(billing.NewBook([]paymenttypes.Account{keyAccount(1, paidKey)}, paidNetuid, "merit1gw", paidPrice, 0, 11))
	select {
	case code := <-done:
		t.Fatalf("answered %d before the book with the key", code)
	case <-time.After(100 * time.Millisecond):
	}
	meter.SetBook(billing.NewBook([]paymenttypes.Account{keyAccount(1, paidKey), keyAccount(2, newKey)}, paidNetuid, "merit1gw", paidPrice, 0, 12))
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("new key: %d, want 200", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the new key is still waiting after its book was installed")
	}
}

// TestUnknownKeyWaitIsBounded: an unknown key is refused after KeyWait,
// and at most maxKeyWaiters requests wait at once: the next is refused at
// once, so unknown keys cannot hold more of the gateway.
func TestUnknownKeyWaitIsBounded(t *testing.T) {
	_, srv, _ := keyWaitGateway(t, 150*time.Millisecond)
	start := time.Now()
	if code, err := getModels(context.Background(), srv.URL, "sk-merit-unknown-0123456789abc"); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d %v, want 401", code, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("refused after %v, before KeyWait", d)
	}

	g, srv, _ := keyWaitGateway(t, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{}, maxKeyWaiters)
	for range maxKeyWaiters {
		go func() {
			_, _ = getModels(ctx, srv.URL, "sk-merit-unknown-0123456789abc")
			ended <- struct{}{}
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); len(g.keyWaiters) < maxKeyWaiters; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests waiting", len(g.keyWaiters), maxKeyWaiters)
		}
	}
	if code, err := getModels(context.Background(), srv.URL, "sk-merit-unknown-0123456789abc"); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("unknown key beyond the waiters: %d %v, want 401 at once", code, err)
	}
	if code, err := getModels(context.Background(), srv.URL, paidKey); err != nil || code != http.StatusOK {
		t.Fatalf("known key while unknown ones wait: %d %v", code, err)
	}
	// Callers that leave free their places.
	cancel()
	for range maxKeyWaiters {
		<-ended
	}
	for deadline := time.Now().Add(30 * time.Second); len(g.keyWaiters) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still waiting after their callers left", len(g.keyWaiters))
		}
	}
}
