package inference

import (
	"context"
	"fmt"
	"math"
)

// Claim is a completion to verify: what the miner returned together with the
// request that produced it.
type Claim struct {
	PromptTokens []int
	Tokens       []int
	// Logprobs are the claimed log probabilities of Tokens (nil if absent).
	Logprobs []float64
	// TopLogprobs are the claimed alternatives per token (nil if absent).
	TopLogprobs  [][]TopLogprob
	Text         string
	FinishReason FinishReason

	// The request: limits, sampling and stop strings.
	MaxTokens   int
	Temperature float64
	TopP        float64
	Seed        uint64
	Stop        []string
}

// ClaimOf builds the claim of a completion res that answered req (for
// example a miner's answer decoded into a Result). Alternatives are included
// when req asked for them.
func ClaimOf(req GenerateRequest, res *Result) Claim {
	c := Claim{
		PromptTokens: res.PromptTokens, Text: res.Text, FinishReason: res.FinishReason,
		MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP, Seed: req.Seed, Stop: req.Stop,
		Tokens: make([]int, len(res.Tokens)), Logprobs: make([]float64, len(res.Tokens)),
	}
	if req.TopLogprobs > 0 {
		c.TopLogprobs = make([][]TopLogprob, len(res.Tokens))
	}
	for i, t := range res.Tokens {
		c.Tokens[i], c.Logprobs[i] = t.ID, t.Logprob
		if c.TopLogprobs != nil {
			c.TopLogprobs[i] = t.Top
		}
	}
	return c
}

// VerifyOptions are the verifier's tolerances. Zero values take the
// defaults; docs/inference.md explains how they were chosen.
type VerifyOptions struct {
	// LogprobTolerance is the largest accepted |claimed - reference| logprob
	// difference, in nats. Default 1e-3.
	LogprobTolerance float64
	// TieTolerance: under greedy decoding a token that is not the reference
	// argmax is accepted when its reference logprob is within this many nats
	// of the argmax's. Default 1e-3.
	TieTolerance float64
	// SampleTolerance: under sampling, a token other than the replayed one
	// is accepted when the replayed random number lies within this distance
	// of the claimed token's probability interval. Default 1e-5.
	SampleTolerance float64
	// AllowMissingLogprobs accepts claims without per-token logprobs
	// (tokens are still checked).
	AllowMissingLogprobs bool
	// EndToken reports the ids that end generation; default IsEndToken.
	EndToken func(id int) bool
}

// Default tolerances.
const (
	DefaultLogprobTolerance = 1e-3
	DefaultTieTolerance     = 1e-3
	DefaultSampleTolerance  = 1e-5
)

func (o VerifyOptions) withDefaults() VerifyOptions {
	if o.LogprobTolerance <= 0 {
		o.LogprobTolerance = DefaultLogprobTolerance
	}
	if o.TieTolerance <= 0 {
		o.TieTolerance = DefaultTieTolerance
	}
	if o.SampleTolerance <= 0 {
		o.SampleTolerance = DefaultSampleTolerance
	}
	if o.EndToken == nil {
		o.EndToken = IsEndToken
	}
	return o
}

// Reason names a verification failure.
type Reason string

// Verification failure reasons.
const (
	ReasonNone               Reason = ""
	ReasonInvalidToken       Reason = "invalid_token"        // id outside the vocabulary
	ReasonTooLong            Reason = "too_long"             // more tokens than max_tokens or the context allows
	ReasonMissingLogprobs    Reason = "missing_logprobs"     // logprobs absent or of the wrong length
	ReasonNotArgmax          Reason = "not_argmax"           // greedy: token is not the reference's best
	ReasonNotSampled         Reason = "not_sampled"          // sampled: token is not what the seeded sampler draws
	ReasonLogprobMismatch    Reason = "logprob_mismatch"     // claimed logprob differs from the reference
	ReasonTopLogprobMismatch Reason = "top_logprob_mismatch" // alternatives differ from the reference's
	ReasonDecodeMismatch     Reason = "decode_mismatch"      // ids do not decode to the returned text
	ReasonBadStopReason      Reason = "bad_stop_reason"      // finish reason inconsistent with the tokens
	ReasonTruncated          Reason = "truncated"            // output ends before its finish reason allows
)

// TokenVerdict is the check of one completion token.
type TokenVerdict struct {
	Index      int     `json:"index"`
	ID         int     `json:"id"`
	OK         bool    `json:"ok"`
	Reason     Reason  `json:"reason,omitempty"`
	RefArgmax  int     `json:"ref_argmax"`
	RefLogprob float64 `json:"ref_logprob"`
	Claimed    float64 `json:"claimed_logprob"`
	// Gap is the reference's logprob margin of its best token over the second.
	Gap float64 `json:"gap"`
}

// Verdict is the outcome of a verification.
type Verdict struct {
	OK     bool   `json:"ok"`
	Reason Reason `json:"reason,omitempty"` // the first failure
	Detail string `json:"detail,omitempty"`
	// Index is the completion token of the first failure, or -1 when the
	// failure concerns the whole output.
	Index  int            `json:"index"`
	Tokens []TokenVerdict `json:"tokens,omitempty"`
	// MaxLogprobError is the largest |claimed - reference| logprob seen.
	MaxLogprobError float64 `json:"max_logprob_error"`
}

// logprobError is |claimed - reference|, recorded in MaxLogprobError. A NaN
// counts as +Inf: it would otherwise pass every tolerance comparison.
func (v *Verdict) logprobError(claimed, reference float64) float64 {
	e := math.Abs(claimed - reference)
	if e != e {
		e = math.Inf(1)
	}
	v.MaxLogprobError = max(v.MaxLogprobError, e)
	return e
}

func (v *Verdict) fail(r Reason, index int, format string, a ...any) {
	if !v.OK {
		return // keep the first failure
	}
	v.OK, v.Reason, v.Index, v.Detail = false, r, index, fmt.Sprintf(format, a...)
}

// Verifier checks claims against a reference engine with one teacher-forced
// pass per claim. It is safe for concurrent use.
type Verifier struct {
	engine Engine
	opts   VerifyOptions
}

// NewVerifier returns a verifier using e as the reference model.
func NewVerifier(e Engine, opts VerifyOptions) *Verifier {
	return &Verifier{engine: e, opts: opts.withDefaults()}
}

// Verify checks a claim. The error is non-nil only when verification could
// not run (bad prompt, cancelled context, engine failure); a dishonest or
// broken claim gives a Verdict with OK false.
func (v *Verifier) Verify(ctx context.Context, c Claim) (*Verdict, error) {
	vd := &Verdict{OK: true, Index: -1}
	if err := v.checkShape(c, vd); err != nil {
		return nil, err
	}
	if !vd.OK {
		return vd, nil
	}
	// Where, if anywhere, a stop string completes.
	prev := c.PromptTokens[len(c.PromptTokens)-1]
	decoded, err := v.engine.Detokenize(ctx, c.Tokens, prev)
	if err != nil {
		return nil, err
	}
	stopAt, cut := -1, -1
	if len(c.Stop) > 0 {
		if stopAt, cut, err = v.findStop(ctx, c, prev, decoded); err != nil {
			return nil, err
		}
	}
	scores, err := v.score(ctx, c, stopAt, vd)
	if err != nil {
		return nil, err
	}
	if !vd.OK {
		return vd, nil
	}
	var smp *sampler
	if c.Temperature > 0 {
		smp = newSampler(v.engine.Info().VocabSize, c.Temperature, c.TopP, c.Seed)
	}
	v.checkTokens(c, scores, smp, vd)
	v.checkEnding(c, scores, smp, decoded, stopAt, cut, vd)
	return vd, nil
}

// checkShape refuses a claim that cannot be scored (an error) or that is
// wrong on its face (a failed verdict): tokens outside the vocabulary,
// too long, logprobs missing or miscounted, an end token inside, an
// unknown finish reason.
func (v *Verifier) checkShape(c Claim, vd *Verdict) error {
	info := v.engine.Info()
	if len(c.PromptTokens) == 0 {
		return fmt.Errorf("%w: claim has no prompt tokens", ErrInvalidRequest)
	}
	for _, t := range c.PromptTokens {
		if t < 0 || t >= info.VocabSize {
			return fmt.Errorf("%w: prompt token %d outside the vocabulary", ErrInvalidRequest, t)
		}
	}
	n := len(c.Tokens)
	for i, t := range c.Tokens {
		if t < 0 || t >= info.VocabSize {
			vd.fail(ReasonInvalidToken, i, "token %d is outside the vocabulary (0..%d)", t, info.VocabSize-1)
			return nil
		}
	}
	switch {
	case c.MaxTokens > 0 && n > c.MaxTokens:
		vd.fail(ReasonTooLong, -1, "%d tokens, max_tokens is %d", n, c.MaxTokens)
		return nil
	case len(c.PromptTokens)+n > info.ContextLength:
		vd.fail(ReasonTooLong, -1, "%d prompt + %d completion tokens exceed the context of %d", len(c.PromptTokens), n, info.ContextLength)
		return nil
	}
	if c.Logprobs == nil && !v.opts.AllowMissingLogprobs && n > 0 {
		vd.fail(ReasonMissingLogprobs, -1, "no logprobs")
		return nil
	}
	if (c.Logprobs != nil && len(c.Logprobs) != n) || (c.TopLogprobs != nil && len(c.TopLogprobs) != n) {
		vd.fail(ReasonMissingLogprobs, -1, "%d tokens but %d logprobs and %d top-logprob lists", n, len(c.Logprobs), len(c.TopLogprobs))
		return nil
	}
	for i, t := range c.Tokens {
		if v.opts.EndToken(t) {
			vd.fail(ReasonBadStopReason, i, "end token %d inside the completion", t)
			return nil
		}
	}
	if c.FinishReason != FinishStop && c.FinishReason != FinishLength {
		vd.fail(ReasonBadStopReason, -1, "unknown finish reason %q", c.FinishReason)
	}
	return nil
}

// score runs the reference over the prompt and completion: one score per
// completion token, and one more when the claim says the model stopped
// by itself (no stop string), to check that it picks an end token next.
func (v *Verifier) score(ctx context.Context, c Claim, stopAt int, vd *Verdict) ([]PositionScore, error) {
	info := v.engine.Info()
	seq := append(append([]int(nil), c.PromptTokens...), c.Tokens...)
	if c.FinishReason == FinishStop && stopAt < 0 {
		if len(seq) >= info.ContextLength {
			vd.fail(ReasonBadStopReason, -1, "claims stop with a full context")
			return nil, nil
		}
		seq = append(seq, firstEndToken(v.opts.EndToken, info.VocabSize))
	}
	k := 2
	for _, tops := range c.TopLogprobs {
		k = max(k, min(len(tops), MaxTopLogprobs))
	}
	// Logits let the verifier price any claimed alternative, not only the
	// reference's own top list; engines that cannot return them leave them nil.
	scores, err := v.engine.Score(ctx, ScoreRequest{Tokens: seq, From: len(c.PromptTokens), TopK: k, Logits: c.Temperature > 0 || c.TopLogprobs != nil})
	if err != nil {
		return nil, err
	}
	if len(scores) != len(seq)-len(c.PromptTokens) {
		return nil, fmt.Errorf("reference engine returned %d scores for %d positions", len(scores), len(seq)-len(c.PromptTokens))
	}
	return scores, nil
}

// checkTokens compares each completion token with the reference: the
// greedy choice (within the tie tolerance) or the seeded sampler's draw,
// the claimed logprob and the claimed alternatives.
func (v *Verifier) checkTokens(c Claim, scores []PositionScore, smp *sampler, vd *Verdict) {
	vd.Tokens = make([]TokenVerdict, len(c.Tokens))
	for i, id := range c.Tokens {
		ref := scores[i]
		tv := TokenVerdict{Index: i, ID: id, OK: true, RefArgmax: ref.Argmax, RefLogprob: ref.Logprob, Gap: ref.Gap, Claimed: math.NaN()}
		bad := func(r Reason, format string, a ...any) {
			if tv.OK {
				tv.OK, tv.Reason = false, r
			}
			vd.fail(r, i, format, a...)
		}
		if smp != nil {
			if next, near := v.replay(smp, ref.Logits, id); next != id && !near {
				bad(ReasonNotSampled, "token %d: %d is not what the seeded sampler draws", i, id)
			}
		} else if id != ref.Argmax && ref.Top[0].Logprob-ref.Logprob > v.opts.TieTolerance {
			bad(ReasonNotArgmax, "token %d: %d (logprob %.4f) instead of argmax %d (logprob %.4f)", i, id, ref.Logprob, ref.Argmax, ref.Top[0].Logprob)
		}
		if c.Logprobs != nil {
			tv.Claimed = c.Logprobs[i]
			if vd.logprobError(c.Logprobs[i], ref.Logprob) > v.opts.LogprobTolerance {
				bad(ReasonLogprobMismatch, "token %d: claimed logprob %.6f, reference %.6f", i, c.Logprobs[i], ref.Logprob)
			}
		}
		if c.TopLogprobs != nil {
			if msg := v.checkTops(c.TopLogprobs[i], ref, vd); msg != "" {
				bad(ReasonTopLogprobMismatch, "token %d: %s", i, msg)
			}
		}
		vd.Tokens[i] = tv
	}
}

// checkEnding checks how the completion ended and that its text is the
// tokens' decoding: cut at a stop string that completes at the last token,
// at max_tokens or the context for "length", or before an end token the
// reference picks for "stop".
func (v *Verifier) checkEnding(c Claim, scores []PositionScore, smp *sampler, decoded string, stopAt, cut int, vd *Verdict) {
	n := len(c.Tokens)
	text := CanonicalText(c.Text)
	switch {
	case stopAt >= 0:
		switch {
		case c.FinishReason != FinishStop:
			vd.fail(ReasonBadStopReason, stopAt, "stop string completed at token %d but finish reason is %q", stopAt, c.FinishReason)
		case stopAt != n-1:
			vd.fail(ReasonBadStopReason, stopAt, "generation continued %d tokens past a stop string", n-1-stopAt)
		case text != CanonicalText(decoded[:cut]):
			vd.fail(ReasonDecodeMismatch, -1, "text %q is not the tokens' decoding up to the stop string %q", clip(c.Text), clip(decoded[:cut]))
		}
	case text != CanonicalText(decoded):
		vd.fail(ReasonDecodeMismatch, -1, "text %q is not the tokens' decoding %q", clip(c.Text), clip(decoded))
	case c.FinishReason == FinishLength:
		if full := len(c.PromptTokens)+n == v.engine.Info().ContextLength; !full && (c.MaxTokens <= 0 || n < c.MaxTokens) {
			vd.fail(ReasonTruncated, -1, "finish reason length after %d of %d tokens", n, c.MaxTokens)
		}
	default: // stop by end token
		ref := scores[n]
		if !v.endOK(smp, ref) {
			vd.fail(ReasonTruncated, -1, "claims the model stopped, but its next token is %d (gap %.4f), not an end token", ref.Argmax, ref.Gap)
		}
	}
}

// findStop returns the index of the token at which a stop string first
// appears in the decoded text and the byte offset where that string starts.
func (v *Verifier) findStop(ctx context.Context, c Claim, prev int, decoded string) (int, int, error) {
	first, end := findStops(decoded, c.Stop)
	if first < 0 {
		return -1, -1, nil
	}
	// The token whose piece completes the earliest-ending stop string.
	pos := 0
	for i, t := range c.Tokens {
		p, err := v.engine.Detokenize(ctx, []int{t}, prev)
		if err != nil {
			return 0, 0, err
		}
		pos += len(p)
		prev = t
		if pos >= end {
			return i, first, nil
		}
	}
	return len(c.Tokens) - 1, first, nil
}

// replay draws the seeded sampler's token at one position (consuming its
// coin) and reports whether want's selection interval lies within
// SampleTolerance of the random number, which forgives another faithful
// implementation's rounding near a boundary.
func (v *Verifier) replay(smp *sampler, logits []float32, want int) (next int, near bool) {
	next, iv := smp.draw(logits, smp.rng.Float32(), want)
	tol := float32(v.opts.SampleTolerance)
	return next, iv.ok && iv.r >= iv.lo-tol && iv.r < iv.hi+tol
}

// endOK checks that the reference would end generation after the completion.
func (v *Verifier) endOK(smp *sampler, ref PositionScore) bool {
	if smp != nil {
		next, near := v.replay(smp, ref.Logits, ref.Token)
		return v.opts.EndToken(next) || near
	}
	// ref.Token is an end token: it must be the argmax or tied with it.
	return v.opts.EndToken(ref.Argmax) || ref.Top[0].Logprob-ref.Logprob <= v.opts.TieTolerance
}

// checkTops compares claimed alternatives with the reference's top list.
func (v *Verifier) checkTops(claimed []TopLogprob, ref PositionScore, vd *Verdict) string {
	seen := make(map[int]bool, len(claimed))
	for _, c := range claimed {
		if seen[c.ID] {
			return fmt.Sprintf("alternative %d listed twice", c.ID)
		}
		seen[c.ID] = true
		found := false
		for _, r := range ref.Top {
			if r.ID != c.ID {
				continue
			}
			found = true
			if vd.logprobError(c.Logprob, r.Logprob) > v.opts.LogprobTolerance {
				return fmt.Sprintf("alternative %d: claimed logprob %.6f, reference %.6f", c.ID, c.Logprob, r.Logprob)
			}
		}
		if !found {
			// Not in the reference's list: acceptable only as a near-tie with
			// the list's last entry (and, when the logits are at hand, with
			// the right logprob).
			last := ref.Top[len(ref.Top)-1].Logprob
			refLP := c.Logprob
			if ref.Logits != nil {
				if c.ID < 0 || c.ID >= len(ref.Logits) {
					return fmt.Sprintf("alternative %d is outside the vocabulary", c.ID)
				}
				refLP = newDist(ref.Logits).logprob(c.ID)
			}
			if math.Abs(c.Logprob-refLP) > v.opts.LogprobTolerance || last-refLP > v.opts.TieTolerance {
				return fmt.Sprintf("alternative %d (logprob %.6f, reference %.6f) is not among the reference's top %d", c.ID, c.Logprob, refLP, len(ref.Top))
			}
		}
	}
	return ""
}

func firstEndToken(end func(int) bool, vocab int) int {
	for _, id := range []int{TokenEOS, TokenBOS} {
		if id < vocab && end(id) {
			return id
		}
	}
	for id := range vocab {
		if end(id) {
			return id
		}
	}
	return TokenEOS
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
