// Package reference is the model a validator grades answers against: the
// subnet task's model, built in or reached over an OpenAI-compatible
// upstream, and the verification of one answer against it (prompt ids
// first, then the teacher-forced pass).
package reference

import (
	"context"
	"errors"
	"fmt"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/openai"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Reference engines a validator can grade with.
const (
	Builtin = "builtin"
	OpenAI  = "openai"
)

// Config says how to obtain the subnet's reference model.
type Config struct {
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

// New builds the reference engine for a subnet task: the built-in
// merit-tiny when the task names it, a local checkpoint whose sha256 matches
// the task's, or an OpenAI-compatible upstream for openai subnets (its Score
// must work, which in practice means vLLM).
func New(ctx context.Context, task subnettypes.Task, cfg Config) (*Reference, error) {
	ref := &Reference{ModelID: task.ModelID()}
	switch cfg.Engine {
	case "", Builtin:
		e, err := builtinEngine(task, cfg)
		if err != nil {
			return nil, err
		}
		ref.Engine, ref.local = e, e
	case OpenAI:
		if cfg.Upstream == "" {
			return nil, errors.New("--reference-engine openai needs --reference-upstream URL")
		}
		b, err := openai.New(openai.Config{BaseURL: cfg.Upstream, ModelID: ref.ModelID})
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

// builtinEngine loads the task's model in-process: a checkpoint whose
// sha256 matches the task's, or merit-tiny when the task names it.
func builtinEngine(task subnettypes.Task, cfg Config) (*inference.LocalEngine, error) {
	modelID := task.ModelID()
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
		return e, nil
	case modelID == inference.TinyID():
		return inference.TinyEngine(inference.Options{})
	default:
		return nil, fmt.Errorf("the subnet's task model is %s; the built-in engine only has %s: pass --reference-checkpoint (and --reference-tokenizer) with that model, or --reference-engine openai",
			modelID, inference.TinyID())
	}
}

// Local reports whether the engine runs in-process: only a local engine
// rebuilds a request's prompt ids and replays a sampled answer.
func (r *Reference) Local() bool { return r.local != nil }
