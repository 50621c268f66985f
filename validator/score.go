package validator

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/meritnet/merit/validator/miners"
)

// MinerScore is the validator's view of one miner.
type MinerScore struct {
	UID    uint16  `json:"uid"`
	Hotkey string  `json:"hotkey"`
	Score  float64 `json:"score"`
	// LastRound is the round score before smoothing.
	LastRound float64 `json:"last_round"`
	// LastResult is the worst result of the last round that probed it, and
	// LastReason/LastDetail explain a failure.
	LastResult string  `json:"last_result,omitempty"`
	LastReason string  `json:"last_reason,omitempty"`
	LastDetail string  `json:"last_detail,omitempty"`
	TTFTMillis float64 `json:"ttft_ms,omitempty"`
	TPS        float64 `json:"tokens_per_second,omitempty"`
	Rounds     uint64  `json:"rounds"`
	// LastVerifiedAt is when an answer last passed verification.
	LastVerifiedAt time.Time `json:"last_verified_at,omitzero"`
}

// RoundStats are one miner's aggregated measurements in a round.
type RoundStats struct {
	Requests  int
	Successes int
	Failed    bool // a verification failed or the model is wrong
	TTFT      time.Duration
	TPS       float64
}

// aggregate sums a miner's probe outcomes of one round. Tokens/s is total
// tokens over total generation time (a long answer weighs more than a short
// one); TTFT is the mean over successful probes.
func aggregate(outs []miners.Outcome) RoundStats {
	var st RoundStats
	var ttft, gen time.Duration
	tokens := 0
	for _, o := range outs {
		if o.Failed() {
			st.Failed = true
		}
		if o.SpotCheck || o.Result == miners.ResultError {
			continue // gateway traffic, or the validator's own failure
		}
		st.Requests++
		if o.Result != miners.ResultOK {
			continue
		}
		st.Successes++
		ttft += o.TTFT
		gen += o.GenTime()
		tokens += o.Tokens
	}
	if st.Successes > 0 {
		st.TTFT = ttft / time.Duration(st.Successes)
		if gen > 0 {
			st.TPS = float64(tokens) / gen.Seconds()
		}
	}
	return st
}

// Weights of the two halves of the speed score.
const (
	throughputWeight = 0.5
	latencyWeight    = 0.5
	// minTTFT keeps a miner on the same host from dividing by almost zero.
	minTTFT = time.Millisecond
)

// RoundScores turns a round's statistics into scores in [0, 1]:
//
//	score = gate × reliability × (½·tps/best_tps + ½·best_ttft/ttft)
//
// gate is 0 when any answer failed verification (or the miner serves the
// wrong model), reliability the fraction of probes that were answered, and
// the speed terms compare with the best miner of the same round, so the
// fastest correct miner scores 1 whatever the hardware of the day.
func RoundScores(stats map[uint16]RoundStats) map[uint16]float64 {
	bestTPS := 0.0
	bestTTFT := time.Duration(math.MaxInt64)
	for _, st := range stats {
		if st.Failed || st.Successes == 0 {
			continue
		}
		bestTPS = math.Max(bestTPS, st.TPS)
		bestTTFT = min(bestTTFT, max(st.TTFT, minTTFT))
	}
	out := make(map[uint16]float64, len(stats))
	for uid, st := range stats {
		if st.Failed || st.Successes == 0 || st.Requests == 0 {
			out[uid] = 0
			continue
		}
		speed := 0.0
		if bestTPS > 0 {
			speed += throughputWeight * st.TPS / bestTPS
		} else {
			speed += throughputWeight // nobody produced measurable throughput: no one is penalized
		}
		speed += latencyWeight * float64(bestTTFT) / float64(max(st.TTFT, minTTFT))
		s := speed * float64(st.Successes) / float64(st.Requests)
		out[uid] = clamp01(s)
	}
	return out
}

// EMA smooths a score: alpha of the new round, 1-alpha of the past. A miner
// that stops answering gets round scores of 0 and decays by (1-alpha) per
// round toward zero.
func EMA(prev, round, alpha float64) float64 {
	return clamp01(alpha*round + (1-alpha)*prev)
}

func clamp01(x float64) float64 {
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// Scorer accumulates outcomes for the current round and keeps the smoothed
// score of every miner. It is safe for concurrent use: probes and gateway
// spot checks record into the same round.
type Scorer struct {
	mu      sync.Mutex
	alpha   float64
	miners  map[uint16]*MinerScore
	pending map[uint16][]miners.Outcome
	round   uint64
}

// NewScorer returns a scorer with EMA factor alpha (0 < alpha ≤ 1).
func NewScorer(alpha float64) *Scorer {
	if !(alpha > 0 && alpha <= 1) {
		alpha = 0.3
	}
	return &Scorer{alpha: alpha, miners: map[uint16]*MinerScore{}, pending: map[uint16][]miners.Outcome{}}
}

// Restore loads scores saved by an earlier run, so a restart does not lose
// what the validator learned.
func (s *Scorer) Restore(scores []MinerScore, round uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range scores {
		m := m
		m.Score = clamp01(m.Score)
		s.miners[m.UID] = &m
	}
	s.round = round
}

// Record adds an outcome to the current round.
func (s *Scorer) Record(o miners.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[o.UID] = append(s.pending[o.UID], o)
}

// CloseRound ends the round. registered maps every UID of the subnet (except
// the validator's own) to its hotkey: miners probed this round get their
// round score, registered miners that were not (no endpoint, or no longer
// reachable) get 0 and decay, and UIDs whose hotkey changed (pruned and
// re-registered) start from zero. It returns the round scores.
func (s *Scorer) CloseRound(registered map[uint16]string, now time.Time) map[uint16]float64 {
	return s.CloseRoundExcept(registered, nil, now)
}

// CloseRoundExcept is CloseRound for miners on their own schedules: the
// UIDs in busy (probes still running, or refused only because of the
// validator's own traffic) sit the round out: their score, round count and
// pending outcomes stay as they are for the next round.
func (s *Scorer) CloseRoundExcept(registered map[uint16]string, busy map[uint16]bool, now time.Time) map[uint16]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.round++
	stats := make(map[uint16]RoundStats, len(s.pending))
	for uid, outs := range s.pending {
		if busy[uid] {
			continue
		}
		if hk, ok := registered[uid]; !ok || (len(outs) > 0 && outs[0].Hotkey != hk) {
			continue // answered for a UID that has since changed hands
		}
		stats[uid] = aggregate(outs)
	}
	round := RoundScores(stats)
	for uid, hk := range registered {
		m := s.miners[uid]
		if busy[uid] {
			if m != nil && m.Hotkey != hk {
				delete(s.miners, uid) // changed hands: the new hotkey starts from zero when scored
			}
			continue
		}
		if m == nil || m.Hotkey != hk {
			m = &MinerScore{UID: uid, Hotkey: hk}
			s.miners[uid] = m
		}
		r := round[uid]
		m.LastRound = r
		m.Score = EMA(m.Score, r, s.alpha)
		m.Rounds++
		outs := s.pending[uid]
		if len(outs) == 0 {
			m.LastResult, m.LastReason, m.LastDetail = "", "not probed", ""
			round[uid] = 0
			continue
		}
		st := stats[uid]
		m.TTFTMillis = float64(st.TTFT) / float64(time.Millisecond)
		m.TPS = st.TPS
		w := worst(outs)
		m.LastResult, m.LastReason, m.LastDetail = w.Result, w.Reason, w.Detail
		if w.Result == miners.ResultOK {
			m.LastVerifiedAt = now
		}
	}
	for uid := range s.miners {
		if _, ok := registered[uid]; !ok {
			delete(s.miners, uid) // deregistered
		}
	}
	kept := map[uint16][]miners.Outcome{}
	for uid := range busy {
		if outs, ok := s.pending[uid]; ok {
			kept[uid] = outs
		}
	}
	s.pending = kept
	return round
}

// worst picks the outcome to report: a failed verification beats an error,
// which beats success.
func worst(outs []miners.Outcome) miners.Outcome {
	rank := func(o miners.Outcome) int {
		switch o.Result {
		case miners.ResultFailedVerification, miners.ResultWrongModel:
			return 3
		case miners.ResultOK:
			return 0
		case miners.ResultError:
			return 1
		}
		return 2
	}
	w := outs[0]
	for _, o := range outs[1:] {
		if rank(o) > rank(w) {
			w = o
		}
	}
	return w
}

// Round is the number of rounds closed so far.
func (s *Scorer) Round() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.round
}

// Scores returns a copy of every miner's score, by UID.
func (s *Scorer) Scores() []MinerScore {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MinerScore, 0, len(s.miners))
	for _, m := range s.miners {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// Score returns one miner's smoothed score (0 when unknown).
func (s *Scorer) Score(uid uint16) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.miners[uid]; m != nil {
		return m.Score
	}
	return 0
}
