package inference

import "sort"

// The sampler is run.c's, specified exactly so that a verifier can replay a
// sampled completion from the same seed:
//
//   - The random stream is xorshift64* (run.c's random_u32): state ^= state>>12;
//     state ^= state<<25; state ^= state>>27; output (state*0x2545F4914F6CDD1D)>>32.
//     The initial state is the request seed, or 0x9E3779B97F4A7C15 when the
//     seed is 0 (xorshift never leaves the zero state).
//   - A coin is random_f32: (u32 >> 8) / 16777216 as float32, in [0, 1).
//   - Temperature 0 is argmax (lowest id on ties) and draws nothing.
//   - Otherwise exactly one coin is drawn per generated token (including the
//     step that draws an end token): logits are divided by
//     float32(temperature), softmaxed in float32, and
//     - without top-p (TopP <= 0 or >= 1): the first i whose running float32
//       sum of probabilities exceeds the coin, else the last id;
//     - with top-p: ids whose probability is >= (1-topp)/(n-1), sorted by
//       probability descending then id ascending, cut after the first prefix
//       whose float32 sum exceeds topp; r = coin*that sum; the first id of
//       the prefix whose running sum exceeds r, else the prefix's last id.

// RNG is run.c's xorshift64* generator.
type RNG struct{ state uint64 }

// NewRNG seeds the generator (seed 0 maps to a fixed non-zero state).
func NewRNG(seed uint64) *RNG {
	if seed == 0 {
		seed = 0x9E3779B97F4A7C15
	}
	return &RNG{state: seed}
}

// Uint32 is random_u32.
func (r *RNG) Uint32() uint32 {
	s := r.state
	s ^= s >> 12
	s ^= s << 25
	s ^= s >> 27
	r.state = s
	return uint32((s * 0x2545F4914F6CDD1D) >> 32)
}

// Float32 is random_f32, a coin in [0, 1).
func (r *RNG) Float32() float32 { return float32(r.Uint32()>>8) / 16777216.0 }

// sampler holds the scratch of one request's sampling.
type sampler struct {
	temperature float32
	topp        float32
	rng         *RNG
	probs       []float32
	order       []int
}

func newSampler(vocab int, temperature, topp float64, seed uint64) *sampler {
	return &sampler{
		temperature: float32(temperature), topp: float32(topp), rng: NewRNG(seed),
		probs: make([]float32, vocab), order: make([]int, 0, vocab),
	}
}

// pick chooses the next token from logits (which it does not modify).
func (s *sampler) pick(logits []float32) int {
	if s.temperature == 0 {
		return argmax(logits)
	}
	coin := s.rng.Float32()
	next, _ := s.draw(logits, coin, -1)
	return next
}

// interval is the range of r that selects one token, and the r drawn.
type interval struct {
	lo, hi, r float32
	ok        bool // the token can be selected at all
}

// draw applies temperature and top-p to logits with the given coin and
// returns the selected id; it also reports the selection interval of token
// want (when want >= 0) so the verifier can judge near-boundary disagreements.
func (s *sampler) draw(logits []float32, coin float32, want int) (int, interval) {
	p := s.probs[:len(logits)]
	divAll(p, logits, s.temperature)
	softmax(p)
	iv := interval{r: coin}
	if s.topp <= 0 || s.topp >= 1 {
		var cdf float32
		next := -1
		for i, pi := range p {
			lo := cdf
			cdf += pi
			if i == want {
				iv.lo, iv.hi, iv.ok = lo, cdf, true
			}
			if next < 0 && coin < cdf {
				next = i
				if want < 0 {
					break // no interval to report: the rest of the sum changes nothing
				}
			}
		}
		if next < 0 {
			next = len(p) - 1
		}
		if want == len(p)-1 {
			iv.hi = 2 // the fallback also selects the last id
		}
		return next, iv
	}
	n := len(p)
	cutoff := (1 - s.topp) / float32(n-1)
	idx := s.order[:0]
	for i, pi := range p {
		if pi >= cutoff {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	var cum float32
	last := len(idx) - 1
	for i, id := range idx {
		cum += p[id]
		if cum > s.topp {
			last = i
			break
		}
	}
	r := float32(coin * cum)
	iv.r = r
	var cdf float32
	next := -1
	for _, id := range idx[:last+1] {
		lo := cdf
		cdf += p[id]
		if id == want {
			iv.lo, iv.hi, iv.ok = lo, cdf, true
		}
		if next < 0 && r < cdf {
			next = id
			if want < 0 {
				break
			}
		}
	}
	if next < 0 {
		next = idx[last]
	}
	if want == idx[last] {
		iv.hi = 2
	}
	return next, iv
}
