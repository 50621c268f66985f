package gateway

import (
	"errors"
	"net/http"
	"strings"

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
		// A zero-token admission checks the key without holding anything.
		var t *billing.Ticket
		if t, err = g.cfg.Meter.Admit(token, 0); err == nil {
			t.Cancel()
			return "", token, true, true
		}
		var ie *billing.InsufficientError
		if errors.As(err, &ie) {
			return "", token, true, true // the key is good; admission says 402 with the request's size
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
