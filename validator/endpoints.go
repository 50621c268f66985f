package validator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// errPrivateEndpoint marks an address the validator will not call: a miner
// announces any host it likes, and without this check it could make the
// validator send signed requests to its own machine or private network.
var errPrivateEndpoint = errors.New("endpoint is a loopback, link-local or private address (see --allow-private-endpoints)")

// sharedAddressSpace is RFC 6598's carrier-grade NAT range, private in
// practice though netip does not call it so.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// publicIP reports whether a miner may be called at ip.
func publicIP(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is loopback too
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsUnspecified() &&
		!ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() && !ip.IsInterfaceLocalMulticast() &&
		!ip.IsMulticast() && !sharedAddressSpace.Contains(ip)
}

// ipResolver is the part of net.Resolver the guard uses.
type ipResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// endpointGuard decides whether a miner's announced host:port may be
// called. Every address the host resolves to must be public: one private
// answer among public ones is enough to refuse. Verdicts are cached for a
// minute so the gateway does not resolve on every request; the dialer's
// own check (dialControl) covers a host that changes its answer meanwhile.
type endpointGuard struct {
	allowPrivate bool
	resolver     ipResolver

	mu    sync.Mutex
	cache map[string]guardVerdict
}

type guardVerdict struct {
	err error
	at  time.Time
}

const guardCacheFor = time.Minute

func newEndpointGuard(allowPrivate bool, r ipResolver) *endpointGuard {
	if r == nil {
		r = net.DefaultResolver
	}
	return &endpointGuard{allowPrivate: allowPrivate, resolver: r, cache: map[string]guardVerdict{}}
}

// check returns nil when address may be called, else why not.
func (g *endpointGuard) check(ctx context.Context, address string) error {
	if g.allowPrivate {
		return nil
	}
	now := time.Now()
	g.mu.Lock()
	v, ok := g.cache[address]
	g.mu.Unlock()
	if ok && now.Sub(v.at) < guardCacheFor {
		return v.err
	}
	err := g.resolveCheck(ctx, address)
	if ctx.Err() != nil {
		return err // a cancelled lookup says nothing about the host
	}
	g.mu.Lock()
	if len(g.cache) > 4096 { // bounded: addresses come from the chain
		clear(g.cache)
	}
	g.cache[address] = guardVerdict{err: err, at: now}
	g.mu.Unlock()
	return err
}

func (g *endpointGuard) resolveCheck(ctx context.Context, address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", address, err)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !publicIP(ip) {
			return fmt.Errorf("%s: %w", address, errPrivateEndpoint)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("endpoint %s: resolve: %w", address, err)
	}
	if len(ips) == 0 {
		return fmt.Errorf("endpoint %s: resolves to no address", address)
	}
	for _, ip := range ips {
		if !publicIP(ip) {
			return fmt.Errorf("%s resolves to %s: %w", address, ip, errPrivateEndpoint)
		}
	}
	return nil
}

// dialControl refuses connections to non-public addresses at connect time,
// after resolution, so a host that answered the guard with a public address
// and the dialer with a private one still cannot point the validator inward.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !publicIP(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", address, errPrivateEndpoint)
	}
	return nil
}
