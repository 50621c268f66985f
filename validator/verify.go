package validator

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/openai"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Reference engines a validator can grade with.
const (
	ReferenceBuiltin = "builtin"
	ReferenceOpenAI  = "openai"
)

// ReferenceConfig says how to obtain the subnet's reference model.
type ReferenceConfig struct {
	// Engine is "builtin" (merit-tiny, or Checkpoint) or "openai" (Upstream).
	Engine     string
	Checkpoint string
	Tokenizer  string
	Upstream   string
	// Options are the verifier's tolerances (zero: defaults).
	Options inference.VerifyOptions
}

// Reference is the model answers are graded against, with its verifier.
type Reference struct {
	Engine   inference.Engine
	Verifier *inference.Verifier
	// ModelID is the task model this reference stands for.
	ModelID string
	// local is set for in-process engines, which can rebuild the exact
	// prompt tokens of a request (and so catch a miner that claims another
	// prompt than the one it was sent).
	local *inference.LocalEngine
}

// NewReference builds the reference engine for a subnet task: the built-in
// merit-tiny when the task names it, a local checkpoint whose sha256 matches
// the task's, or an OpenAI-compatible upstream for openai subnets (its Score
// must work, which in practice means vLLM).
func NewReference(ctx context.Context, task subnettypes.Task, cfg ReferenceConfig) (*Reference, error) {
	modelID := task.ModelID()
	ref := &Reference{ModelID: modelID}
	switch cfg.Engine {
	case "", ReferenceBuiltin:
		switch {
		case cfg.Checkpoint != "":
			// Loading hashes the file on the way, so a large checkpoint is
			// read once, not once to check and again to load.
			m, err := inference.LoadCheckpoint(cfg.Checkpoint)
			if err != nil {
				return nil, fmt.Errorf("reference checkpoint: %w", err)
			}
			if m.SHA256 != task.ModelSha256 {
				return nil, fmt.Errorf("reference checkpoint %s has sha256 %s, but the subnet's task model %s has %s",
					cfg.Checkpoint, m.SHA256, task.ModelName, task.ModelSha256)
			}
			if cfg.Tokenizer == "" {
				return nil, errors.New("--reference-checkpoint needs --reference-tokenizer")
			}
			tok, err := inference.LoadTokenizer(cfg.Tokenizer, m.VocabSize)
			var e *inference.LocalEngine
			if err == nil {
				e, err = inference.NewLocalEngine(m, tok, inference.Options{})
			}
			if err != nil {
				return nil, fmt.Errorf("load reference checkpoint: %w", err)
			}
			ref.Engine, ref.local = e, e
		case modelID == inference.TinyID():
			e, err := inference.TinyEngine(inference.Options{})
			if err != nil {
				return nil, err
			}
			ref.Engine, ref.local = e, e
		default:
			return nil, fmt.Errorf("the subnet's task model is %s; the built-in engine only has %s: pass --reference-checkpoint (and --reference-tokenizer) with that model, or --reference-engine openai",
				modelID, inference.TinyID())
		}
	case ReferenceOpenAI:
		if cfg.Upstream == "" {
			return nil, errors.New("--reference-engine openai needs --reference-upstream URL")
		}
		b, err := openai.New(openai.Config{BaseURL: cfg.Upstream, ModelID: modelID})
		if err != nil {
			return nil, err
		}
		if err := b.Probe(ctx); err != nil {
			return nil, fmt.Errorf("reference upstream: %w", err)
		}
		ref.Engine = b
	default:
		return nil, fmt.Errorf("unknown reference engine %q (builtin or openai)", cfg.Engine)
	}
	ref.Verifier = inference.NewVerifier(ref.Engine, cfg.Options)
	return ref, nil
}

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
	if want, ok := r.expectedPrompt(c.Request); ok && !slices.Equal(want, p.PromptTokens) {
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

// expectedPrompt rebuilds the prompt ids of a request with the local
// engine. Remote references cannot apply a chat template, so their
// prompts are taken as claimed (the teacher-forced pass still checks every
// completion token given that prompt).
func (r *Reference) expectedPrompt(req inference.GenerateRequest) ([]int, bool) {
	if r.local == nil {
		return nil, false
	}
	ids, err := r.local.PromptTokens(req)
	if err != nil {
		return nil, false
	}
	return ids, true
}

// VerificationReasons lists the failure reasons for metric labels.
func VerificationReasons() []string {
	return []string{
		string(inference.ReasonInvalidToken), string(inference.ReasonTooLong), string(inference.ReasonMissingLogprobs),
		string(inference.ReasonNotArgmax), string(inference.ReasonNotSampled), string(inference.ReasonLogprobMismatch),
		string(inference.ReasonTopLogprobMismatch), string(inference.ReasonDecodeMismatch),
		string(inference.ReasonBadStopReason), string(inference.ReasonTruncated), ReasonPromptMismatch, ResultWrongModel,
	}
}
