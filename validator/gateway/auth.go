package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/validator/billing"
)

// authenticate reads the bearer key: one of the operator's keys (free), or
// a key the meter knows (paid). On failure it has answered.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request) (user, token string, paid, ok bool) {
	if g.cfg.Keys != nil {
		if err := g.cfg.Keys.maybeReload(); err != nil {
			g.cfg.Log.Error("gateway keys file unreadable; keeping the previous keys", zap.Error(err))
		}
	}
	// Only the Bearer scheme (RFC 6750; the scheme name is case-insensitive):
	// a bare key in the header is a client bug worth a clear 401.
	auth := r.Header.Get("Authorization")
	hasBearer := len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ")
	if hasBearer {
		token = strings.TrimSpace(auth[7:])
	}
	if hasBearer && g.cfg.Keys != nil {
		if name, found := g.cfg.Keys.Check(token); found {
			return name, token, false, true
		}
	}
	err := billing.ErrUnknownKey
	if hasBearer && token != "" && g.cfg.Meter != nil {
		if err = g.checkKey(r.Context(), token); err == nil {
			return "", token, true, true
		}
	}
	switch {
	case errors.Is(err, billing.ErrNotAllowed):
		g.count("forbidden")
		g.fail(w, http.StatusForbidden, "gateway_not_allowed", nil, "this API key's account does not allow this gateway ("+err.Error()+"); use one of its allowed gateways")
	case errors.Is(err, billing.ErrNotReady):
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "not_ready", nil, "the gateway has not read the chain's accounts yet; retry in a few seconds")
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="merit-gateway"`)
		g.count("unauthorized")
		g.fail(w, http.StatusUnauthorized, "invalid_api_key", nil, "missing or unknown API key, or its account is closed (an account opened in the last block or two may not be known yet: retry in a few seconds)")
	}
	return "", "", false, false
}

// checkKey says whether the meter serves token: nil, or why not. A key it
// does not know may belong to an account opened in the block the gateway is
// reading now (its owner's CLI returned as the block was committed), so
// such a request waits up to KeyWait for newer books before the 401. At
// most maxKeyWaiters requests wait at once, so unknown keys cannot hold
// more; the rest are answered at once.
func (g *Gateway) checkKey(ctx context.Context, token string) error {
	changed := g.cfg.Meter.Changed()
	err := g.admitKey(token)
	if !errors.Is(err, billing.ErrUnknownKey) || g.cfg.KeyWait <= 0 {
		return err
	}
	select {
	case g.keyWaiters <- struct{}{}:
		defer func() { <-g.keyWaiters }()
	default:
		return err
	}
	timer := time.NewTimer(g.cfg.KeyWait)
	defer timer.Stop()
	for errors.Is(err, billing.ErrUnknownKey) {
		select {
		case <-changed:
		case <-timer.C:
			return err
		case <-ctx.Done():
			return err
		}
		changed = g.cfg.Meter.Changed()
		err = g.admitKey(token)
	}
	return err
}

// admitKey checks token with a zero-token admission, which holds nothing:
// nil when the key is served (402 is for admission to say, with the
// request's size).
func (g *Gateway) admitKey(token string) error {
	t, err := g.cfg.Meter.Admit(token, 0)
	var ie *billing.InsufficientError
	switch {
	case err == nil:
		t.Cancel()
		return nil
	case errors.As(err, &ie):
		return nil
	}
	return err
}
