package validator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
)

func TestPublicIP(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "127.9.9.9": false, "::1": false, "0.0.0.0": false, "::": false,
		"10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd12::1": false,
		"100.64.0.1": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"8.8.8.8": true, "172.32.0.1": true, "100.128.0.1": true, "2001:4860:4860::8888": true,
		"::ffff:8.8.8.8": true,
	} {
		if got := publicIP(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicIP(%s) = %v, want %v", addr, got, want)
		}
	}
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, s := range ips {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestEndpointGuard(t *testing.T) {
	r := fakeResolver{"public.example": {"8.8.8.8", "2001:4860:4860::8888"},
		"mixed.example": {"8.8.8.8", "10.0.0.7"}, "localhost": {"127.0.0.1", "::1"}}
	g := newEndpointGuard(false, r)
	ctx := context.Background()
	for addr, ok := range map[string]bool{
		"8.8.8.8:8091": true, "public.example:8091": true, "[2001:4860:4860::8888]:1": true,
		"127.0.0.1:8091": false, "[::1]:8091": false, "localhost:8091": false, "mixed.example:8091": false,
		"169.254.169.254:80": false, "nowhere.example:1": false, "no-port": false,
	} {
		err := g.check(ctx, addr)
		if (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
		if !ok && addr != "nowhere.example:1" && addr != "no-port" && !errors.Is(err, errPrivateEndpoint) {
			t.Errorf("%s: want errPrivateEndpoint, got %v", addr, err)
		}
	}
	if err := newEndpointGuard(true, r).check(ctx, "127.0.0.1:8091"); err != nil {
		t.Fatalf("--allow-private-endpoints: %v", err)
	}
}

// TestValidatorRefusesInwardEndpoints: without --allow-private-endpoints a
// loopback miner is not probed nor offered to the gateway, and the
// validator's transport refuses to dial it even when asked directly.
func TestValidatorRefusesInwardEndpoints(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(10, true, id, 0)
	addr := srv.Listener.Addr().String()
	m := miners.Miner{UID: 1, Hotkey: validatortest.NewIdentity(t, "m").Address(), Address: addr}
	for _, allow := range []bool{false, true} {
		v, err := New(Config{Home: t.TempDir(), Netuid: 1, AllowPrivateEndpoints: allow}, f, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.callable(context.Background(), []miners.Miner{m}); (len(got) == 1) != allow {
			t.Fatalf("allow=%v: callable %v", allow, got)
		}
		before := hits.Load()
		_, err = v.asker.cfg.Client.Do(context.Background(), http.MethodPost, "http://"+addr+"/v1/completions", m.Hotkey, []byte(`{}`))
		if reached := hits.Load() > before; reached != allow {
			t.Fatalf("allow=%v: request reached the miner: %v (%v)", allow, reached, err)
		}
		if !allow && !errors.Is(err, errPrivateEndpoint) {
			t.Fatalf("want errPrivateEndpoint, got %v", err)
		}
	}
}
