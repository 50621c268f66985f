package validator

import (
	"testing"
	"time"

	"github.com/meritnet/merit/validator/miners"
)

// TestBusyMinerSitsOutTheRound: a miner whose probes still run when the
// round closes keeps its score, round count and pending outcomes (a spot
// check, say) for the round its probes land in, instead of scoring zero
// as "not probed"; the others are scored as usual.
func TestBusyMinerSitsOutTheRound(t *testing.T) {
	sc := NewScorer(0.5)
	reg := map[uint16]string{1: hk(1), 2: hk(2)}
	sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
	sc.Record(ok(2, time.Millisecond, 10*time.Millisecond, 10))
	sc.CloseRound(reg, time.Now())
	before := scoreByUID(sc, 2)
	sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
	sc.Record(miners.Outcome{UID: 2, Hotkey: hk(2), Result: miners.ResultFailedVerification, Reason: "not_argmax", SpotCheck: true})
	sc.CloseRoundExcept(reg, map[uint16]bool{2: true}, time.Now())
	if got := scoreByUID(sc, 2); got != before {
		t.Fatalf("busy miner changed: %+v, was %+v", got, before)
	}
	if got := scoreByUID(sc, 1); got.Rounds != 2 || got.Score <= before.Score {
		t.Fatalf("the other miner was not scored: %+v", got)
	}
	// Its probes land: the spot check kept from the busy round still zeroes it.
	sc.Record(ok(2, time.Millisecond, 10*time.Millisecond, 10))
	sc.CloseRoundExcept(reg, nil, time.Now())
	if got := scoreByUID(sc, 2); got.Rounds != 2 || got.LastRound != 0 || got.LastResult != miners.ResultFailedVerification {
		t.Fatalf("after the busy round: %+v", got)
	}
	// A busy UID that changed hands starts from zero when next scored.
	sc.CloseRoundExcept(map[uint16]string{1: hk(1), 2: "newcomer"}, map[uint16]bool{2: true}, time.Now())
	if got := scoreByUID(sc, 2); got.Hotkey != "" {
		t.Fatalf("the old hotkey's score survived: %+v", got)
	}
}

func scoreByUID(sc *Scorer, uid uint16) MinerScore {
	for _, s := range sc.Scores() {
		if s.UID == uid {
			return s
		}
	}
	return MinerScore{}
}
