package types

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Engine formats a subnet task may name.
const (
	EngineLlama2c = "llama2c"
	EngineOpenAI  = "openai"
)

// ModelID is the canonical id of the task's model, "<name>@sha256:<hex>", the
// same string miners announce in their endpoint and serve at /v1/models.
func (t Task) ModelID() string { return t.ModelName + "@sha256:" + t.ModelSha256 }

// Validate checks a task names a model by name and hash, a known engine
// format and a usable token limit.
func (t Task) Validate() error {
	if t.ModelName == "" || len(t.ModelName) > MaxModelIDLen/2 || strings.ContainsAny(t.ModelName, "@ \t\n") {
		return fmt.Errorf("model_name must be 1-%d characters without '@' or spaces", MaxModelIDLen/2)
	}
	if len(t.ModelSha256) != 64 || strings.ToLower(t.ModelSha256) != t.ModelSha256 {
		return fmt.Errorf("model_sha256 must be 64 lowercase hex characters")
	}
	if _, err := hex.DecodeString(t.ModelSha256); err != nil {
		return fmt.Errorf("model_sha256 is not hex: %v", err)
	}
	if t.EngineFormat != EngineLlama2c && t.EngineFormat != EngineOpenAI {
		return fmt.Errorf("engine_format must be %q or %q, got %q", EngineLlama2c, EngineOpenAI, t.EngineFormat)
	}
	if t.MaxTokens == 0 || t.MaxTokens > 8192 {
		return fmt.Errorf("max_tokens must be in [1, 8192], got %d", t.MaxTokens)
	}
	return nil
}
