package reference

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/meritnet/merit/inference"
)

// ReasonPromptMismatch is the failure of an answer whose prompt token ids
// are not those of the prompt the validator sent: a miner must not answer an
// easier (or cached) prompt than the one asked.
const ReasonPromptMismatch = "prompt_mismatch"

// Check is one verification: the request as sent and the answer as read.
type Check struct {
	Request inference.GenerateRequest
	// Parts holds the answer's half of the claim; Verify adds the request's
	// limits and sampling.
	Parts *inference.Claim
}

// CheckResult is a verification's outcome. Err is set when the validator
// could not run the check (not the miner's fault).
type CheckResult struct {
	OK     bool
	Reason string
	Detail string
	Err    error
}

// Verify checks an answer against the reference: the prompt ids first
// (where the reference can rebuild them), then the teacher-forced pass.
func (r *Reference) Verify(ctx context.Context, c Check) CheckResult {
	p := c.Parts
	if len(p.PromptTokens) == 0 {
		return CheckResult{Reason: ReasonPromptMismatch, Detail: "answer has no prompt_token_ids"}
	}
	if want, ok := r.ExpectedPrompt(c.Request); ok && !slices.Equal(want, p.PromptTokens) {
		return CheckResult{Reason: ReasonPromptMismatch,
			Detail: fmt.Sprintf("prompt_token_ids have %d tokens; the prompt sent is %d tokens %v…", len(p.PromptTokens), len(want), want[:min(len(want), 8)])}
	}
	claim, req := *p, c.Request
	claim.MaxTokens, claim.Temperature, claim.TopP, claim.Seed, claim.Stop = req.MaxTokens, req.Temperature, req.TopP, req.Seed, req.Stop
	vd, err := r.Verifier.Verify(ctx, claim)
	if err != nil {
		if errors.Is(err, inference.ErrInvalidRequest) {
			// A prompt id outside the vocabulary: the miner's claim is bad.
			return CheckResult{Reason: ReasonPromptMismatch, Detail: err.Error()}
		}
		return CheckResult{Err: err}
	}
	if !vd.OK {
		return CheckResult{Reason: string(vd.Reason), Detail: vd.Detail}
	}
	return CheckResult{OK: true}
}

// ExpectedPrompt rebuilds the prompt ids of a request with the local
// engine. Remote references cannot apply a chat template, so their
// prompts are taken as claimed (the teacher-forced pass still checks every
// completion token given that prompt).
func (r *Reference) ExpectedPrompt(req inference.GenerateRequest) ([]int, bool) {
	if r.local == nil {
		return nil, false
	}
	ids, err := r.local.PromptTokens(req)
	if err != nil {
		return nil, false
	}
	return ids, true
}
