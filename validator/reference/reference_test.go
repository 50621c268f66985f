package reference

import (
	"context"
	"strings"
	"testing"

	"github.com/meritnet/merit/inference"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var tinyTask = subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, EngineFormat: "llama2c", MaxTokens: 24}

// TestNew: the built-in engine serves merit-tiny in-process; every setting
// that cannot work is refused with the flag to fix.
func TestNew(t *testing.T) {
	ref, err := New(context.Background(), tinyTask, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !ref.Local() || ref.ModelID != tinyTask.ModelID() || ref.Verifier == nil {
		t.Fatalf("tiny reference: local %v model %q", ref.Local(), ref.ModelID)
	}
	other := tinyTask
	other.ModelName, other.ModelSha256 = "llama-7b", strings.Repeat("ab", 32)
	for _, c := range []struct {
		task subnettypes.Task
		cfg  Config
		want string
	}{
		{other, Config{}, "--reference-checkpoint"},
		{tinyTask, Config{Engine: OpenAI}, "--reference-upstream"},
		{tinyTask, Config{Engine: "vllm"}, "unknown reference engine"},
	} {
		if _, err := New(context.Background(), c.task, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: want an error naming %q, got %v", c.cfg, c.want, err)
		}
	}
}

// TestVerifyPromptFirst: an answer must carry the prompt ids of the
// prompt sent; a local reference rebuilds them and refuses others before
// the teacher-forced pass.
func TestVerifyPromptFirst(t *testing.T) {
	ref, err := New(context.Background(), tinyTask, Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := inference.GenerateRequest{Prompt: "Once upon a time", MaxTokens: 4}
	want, ok := ref.ExpectedPrompt(req)
	if !ok || len(want) == 0 {
		t.Fatal("a local reference rebuilds the prompt ids")
	}
	for _, prompt := range [][]int{nil, append(append([]int(nil), want...), want[0])} {
		res := ref.Verify(context.Background(), Check{Request: req, Parts: &inference.Claim{PromptTokens: prompt, Tokens: []int{1}}})
		if res.OK || res.Reason != ReasonPromptMismatch {
			t.Fatalf("prompt %v: %+v", prompt, res)
		}
	}
}
