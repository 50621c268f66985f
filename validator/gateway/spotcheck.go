package gateway

import (
	"context"
	mrand "math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// wantSpotCheck draws whether to verify this answer (--spot-check).
func (g *Gateway) wantSpotCheck() bool {
	return g.cfg.SpotCheck > 0 && mrand.Float64() < g.cfg.SpotCheck
}

// spotCheck verifies a fraction of answers in the background; a failure
// disqualifies the miner for the current round like a failed probe.
func (g *Gateway) spotCheck(m miners.Miner, req *gatewayRequest, ans *miners.Answer) {
	ref := g.cfg.Reference()
	if ref == nil || (!ref.Local() && req.engine.Temperature > 0) {
		g.spot("skipped") // remote references cannot replay sampling
		return
	}
	parts, err := ans.Parts(req.topK > 0)
	if err != nil {
		g.spot("failed")
		g.cfg.Log.Warn("gateway spot check: unreadable answer", zap.Uint16("uid", m.UID), zap.Error(err))
		g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultInvalid, Reason: "malformed", Detail: err.Error(), SpotCheck: true})
		return
	}
	select {
	case g.checks <- struct{}{}:
	default:
		g.spot("skipped") // verification is falling behind traffic
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.checks }()
		g.verify(ref, m, req, parts)
	}()
}

// verify checks one answer against the reference and records the verdict.
func (g *Gateway) verify(ref *reference.Reference, m miners.Miner, req *gatewayRequest, parts *inference.Claim) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := ref.Verify(ctx, reference.Check{Request: req.engine, Parts: parts})
	switch {
	case res.Err != nil:
		g.spot("error")
		g.cfg.Log.Warn("gateway spot check could not run", zap.Uint16("uid", m.UID), zap.Error(res.Err))
	case !res.OK:
		g.spot("failed")
		if g.cfg.Metrics != nil {
			g.cfg.Metrics.VerificationFailures.WithLabelValues(res.Reason).Inc()
		}
		g.cfg.Log.Warn("gateway spot check failed verification", zap.Uint16("uid", m.UID), zap.String("hotkey", m.Hotkey),
			zap.String("reason", res.Reason), zap.String("detail", res.Detail))
		g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultFailedVerification, Reason: res.Reason, Detail: res.Detail, SpotCheck: true})
	default:
		g.spot("ok")
		g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultOK, SpotCheck: true})
	}
}

func (g *Gateway) spot(result string) {
	if g.cfg.Metrics != nil {
		g.cfg.Metrics.SpotChecks.WithLabelValues(result).Inc()
	}
}
