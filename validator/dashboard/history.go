package dashboard

import (
	"sort"
	"sync"
	"time"

	sdkmath "cosmossdk.io/math"

	emissiontypes "github.com/meritnet/merit/x/emission/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// History keeps bounded time series for the dashboard's plots: each
// miner's score after every round, and its emission at every epoch.
type History struct {
	mu        sync.Mutex
	max       int
	scores    map[uint16][]ScorePoint
	emissions map[uint16][]EmissionPoint
	hotkeys   map[uint16]string
}

// ScorePoint is a miner's smoothed score after a round.
type ScorePoint struct {
	At    time.Time
	Score float64
}

// EmissionPoint is what a neuron was paid at one epoch, umerit.
type EmissionPoint struct {
	Epoch  uint64
	Amount float64
}

// Series is one miner's line in a plot.
type Series struct {
	UID    uint16
	Hotkey string
	// X and Y are the points; X is seconds since an origin for scores and
	// the epoch for emissions.
	X, Y []float64
}

// NewHistory keeps at most max points per miner and series.
func NewHistory(max int) *History {
	if max <= 0 {
		max = 240
	}
	return &History{max: max, scores: map[uint16][]ScorePoint{}, emissions: map[uint16][]EmissionPoint{}, hotkeys: map[uint16]string{}}
}

// Score is one miner's smoothed score after a round.
type Score struct {
	UID    uint16
	Hotkey string
	Score  float64
}

// AddScores records the scores after a round. A UID whose hotkey changed
// starts a new series.
func (h *History) AddScores(at time.Time, scores []Score) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[uint16]bool{}
	for _, s := range scores {
		seen[s.UID] = true
		h.rekey(s.UID, s.Hotkey)
		h.scores[s.UID] = appendBounded(h.scores[s.UID], ScorePoint{At: at, Score: s.Score}, h.max)
	}
	for uid := range h.scores {
		if !seen[uid] {
			delete(h.scores, uid) // deregistered
		}
	}
}

// AddEmissions records the payouts of a metagraph's neurons when their
// epoch is new.
func (h *History) AddEmissions(neurons []subnettypes.MetagraphNeuron) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range neurons {
		uid := uint16(n.Neuron.Uid)
		h.rekey(uid, n.Neuron.Hotkey)
		if n.Neuron.LastEpoch == 0 {
			continue
		}
		pts := h.emissions[uid]
		if len(pts) > 0 && pts[len(pts)-1].Epoch >= n.Neuron.LastEpoch {
			continue
		}
		h.emissions[uid] = appendBounded(pts, EmissionPoint{Epoch: n.Neuron.LastEpoch, Amount: intFloat(n.Neuron.LastEmission)}, h.max)
	}
}

// Backfill merges a neuron's payout records (the chain's NeuronHistory,
// newest first) into its emission series, so the plot has a past after a
// restart. Records of another hotkey (the UID changed hands) are skipped.
func (h *History) Backfill(uid uint16, hotkey string, recs []emissiontypes.NeuronEmission) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rekey(uid, hotkey)
	byEpoch := map[uint64]EmissionPoint{}
	for _, p := range h.emissions[uid] {
		byEpoch[p.Epoch] = p
	}
	for _, r := range recs {
		if r.Hotkey != hotkey {
			continue
		}
		if _, ok := byEpoch[r.Epoch]; !ok {
			byEpoch[r.Epoch] = EmissionPoint{Epoch: r.Epoch, Amount: intFloat(r.Miner) + intFloat(r.Validator)}
		}
	}
	pts := make([]EmissionPoint, 0, len(byEpoch))
	for _, p := range byEpoch {
		pts = append(pts, p)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Epoch < pts[j].Epoch })
	if len(pts) > h.max {
		pts = pts[len(pts)-h.max:]
	}
	h.emissions[uid] = pts
}

func (h *History) rekey(uid uint16, hotkey string) {
	if old, ok := h.hotkeys[uid]; ok && old != hotkey {
		delete(h.scores, uid)
		delete(h.emissions, uid)
	}
	h.hotkeys[uid] = hotkey
}

func appendBounded[T any](s []T, v T, max int) []T {
	s = append(s, v)
	if len(s) > max {
		s = append(s[:0:0], s[len(s)-max:]...)
	}
	return s
}

// ScoreSeries returns every miner's score line; X is seconds since the
// oldest point shown.
func (h *History) ScoreSeries() []Series {
	h.mu.Lock()
	defer h.mu.Unlock()
	var origin time.Time
	for _, pts := range h.scores {
		if len(pts) > 0 && (origin.IsZero() || pts[0].At.Before(origin)) {
			origin = pts[0].At
		}
	}
	out := make([]Series, 0, len(h.scores))
	for uid, pts := range h.scores {
		s := Series{UID: uid, Hotkey: h.hotkeys[uid]}
		for _, p := range pts {
			s.X = append(s.X, p.At.Sub(origin).Seconds())
			s.Y = append(s.Y, p.Score)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// EmissionSeries returns every neuron's emission line by epoch, in MERIT.
func (h *History) EmissionSeries() []Series {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Series, 0, len(h.emissions))
	for uid, pts := range h.emissions {
		s := Series{UID: uid, Hotkey: h.hotkeys[uid]}
		for _, p := range pts {
			s.X = append(s.X, float64(p.Epoch))
			s.Y = append(s.Y, p.Amount/1e6)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out
}

// intFloat converts an amount for display; nil (unset) is 0.
func intFloat(i sdkmath.Int) float64 {
	if i.IsNil() {
		return 0
	}
	f, _ := i.BigInt().Float64()
	return f
}
