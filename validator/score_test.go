package validator

import (
	"math"
	"testing"
	"time"

	"github.com/meritnet/merit/validator/miners"
)

func ok(uid uint16, ttft, latency time.Duration, tokens int) miners.Outcome {
	return miners.Outcome{UID: uid, Hotkey: hk(uid), Result: miners.ResultOK, TTFT: ttft, Latency: latency, Tokens: tokens}
}

func hk(uid uint16) string { return "miner" + string(rune('a'+uid)) }

func TestRoundScoresSpeedAndGate(t *testing.T) {
	stats := map[uint16]RoundStats{
		1: aggregate([]miners.Outcome{ok(1, 10*time.Millisecond, 110*time.Millisecond, 51)}), // 500 tok/s, 10 ms
		2: aggregate([]miners.Outcome{ok(2, 40*time.Millisecond, 540*time.Millisecond, 51)}), // 100 tok/s, 40 ms
		3: aggregate([]miners.Outcome{ok(3, 5*time.Millisecond, 50*time.Millisecond, 51),
			{UID: 3, Result: miners.ResultFailedVerification, Reason: "not_argmax"}}), // fastest, but cheated once
		4: aggregate([]miners.Outcome{ok(4, 10*time.Millisecond, 110*time.Millisecond, 51),
			{UID: 4, Result: miners.ResultTimeout}}), // as fast as 1 but answered half
		5: aggregate([]miners.Outcome{{UID: 5, Result: miners.ResultRefused}}),
	}
	s := RoundScores(stats)
	if s[1] != 1 {
		t.Fatalf("fastest honest miner scores %v, want 1", s[1])
	}
	if want := 0.5*100.0/500 + 0.5*10.0/40; math.Abs(s[2]-want) > 1e-9 {
		t.Fatalf("slow miner %v, want %v", s[2], want)
	}
	if s[3] != 0 {
		t.Fatalf("a failed verification must zero the round, got %v", s[3])
	}
	if math.Abs(s[4]-0.5) > 1e-9 {
		t.Fatalf("half-answering miner %v, want 0.5", s[4])
	}
	if s[5] != 0 {
		t.Fatalf("unreachable miner %v", s[5])
	}
	// The cheater's speed does not set the bar for others.
	if s[1] != 1 {
		t.Fatal("a failed miner must not count as the round's best")
	}
}

func TestValidatorErrorsDoNotCountAgainstMiner(t *testing.T) {
	st := aggregate([]miners.Outcome{ok(1, time.Millisecond, 10*time.Millisecond, 5), {UID: 1, Result: miners.ResultError}})
	if st.Requests != 1 || st.Successes != 1 {
		t.Fatalf("%+v", st)
	}
}

func TestEMAAndDecay(t *testing.T) {
	if got := EMA(0, 1, 0.3); math.Abs(got-0.3) > 1e-12 {
		t.Fatal(got)
	}
	if got := EMA(0.5, 0.5, 0.3); math.Abs(got-0.5) > 1e-12 {
		t.Fatal(got)
	}
	if EMA(math.NaN(), 1, 0.3) != 0 && EMA(0.2, math.Inf(1), 0.3) != 1 {
		t.Fatal("EMA must stay in [0,1]")
	}
	sc := NewScorer(0.3)
	reg := map[uint16]string{1: hk(1), 2: hk(2)}
	for range 10 {
		sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
		sc.Record(ok(2, time.Millisecond, 10*time.Millisecond, 10))
		sc.CloseRound(reg, time.Now())
	}
	peak := sc.Score(2)
	if peak < 0.95 {
		t.Fatalf("steady miner converges to %v", peak)
	}
	// Miner 2 stops answering: its score decays by (1-alpha) per round.
	prev := peak
	for i := range 8 {
		sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
		sc.Record(miners.Outcome{UID: 2, Hotkey: hk(2), Result: miners.ResultRefused})
		sc.CloseRound(reg, time.Now())
		got := sc.Score(2)
		if math.Abs(got-prev*0.7) > 1e-9 {
			t.Fatalf("round %d: %v, want %v", i, got, prev*0.7)
		}
		prev = got
	}
	if prev > peak*0.06 {
		t.Fatalf("did not decay toward zero: %v", prev)
	}
	if sc.Score(1) < 0.95 {
		t.Fatal("the answering miner lost score")
	}
	// A miner that is registered but was not probed (endpoint gone) decays too.
	sc.Record(ok(2, time.Millisecond, 10*time.Millisecond, 10))
	sc.CloseRound(reg, time.Now())
	before := sc.Score(1)
	sc.CloseRound(reg, time.Now())
	if got := sc.Score(1); math.Abs(got-before*0.7) > 1e-9 {
		t.Fatalf("unprobed miner: %v, want %v", got, before*0.7)
	}
}

func TestScorerResetsReusedUID(t *testing.T) {
	sc := NewScorer(0.5)
	sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
	sc.CloseRound(map[uint16]string{1: hk(1)}, time.Now())
	if sc.Score(1) == 0 {
		t.Fatal("no score")
	}
	// UID 1 was pruned and re-registered by someone else.
	sc.CloseRound(map[uint16]string{1: "newcomer"}, time.Now())
	if s := sc.Scores(); len(s) != 1 || s[0].Hotkey != "newcomer" || s[0].Score != 0 {
		t.Fatalf("%+v", s)
	}
	// Deregistered UIDs disappear.
	sc.CloseRound(map[uint16]string{}, time.Now())
	if len(sc.Scores()) != 0 {
		t.Fatal("kept a deregistered miner")
	}
}

func TestSpotCheckFailureZeroesRound(t *testing.T) {
	sc := NewScorer(1)
	reg := map[uint16]string{1: hk(1)}
	sc.Record(ok(1, time.Millisecond, 10*time.Millisecond, 10))
	sc.Record(miners.Outcome{UID: 1, Hotkey: hk(1), Result: miners.ResultFailedVerification, Reason: "not_argmax", SpotCheck: true})
	r := sc.CloseRound(reg, time.Now())
	if r[1] != 0 || sc.Score(1) != 0 {
		t.Fatalf("spot-check failure ignored: %v", r)
	}
	if s := sc.Scores()[0]; s.LastResult != miners.ResultFailedVerification || s.LastReason != "not_argmax" {
		t.Fatalf("%+v", s)
	}
}
