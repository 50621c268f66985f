package miner

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// TestBatchedMinerAnswersExactly: concurrent requests to a miner whose
// builtin engine batches (greedy and seeded-sampled, different lengths) are
// admitted as one batch and each answer verifies with logprob error exactly
// 0, as when served alone; the batch metrics are exported.
func TestBatchedMinerAnswersExactly(t *testing.T) {
	b := inference.NewBatcher(tinyEngine(t), inference.BatchOptions{MaxBatch: 4})
	defer b.Close()
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) { cfg.Engine = b })
	if f.m.cfg.Concurrency != 4 {
		t.Fatalf("admission slots %d, want the batch of 4", f.m.cfg.Concurrency)
	}
	c, _ := newTransportClient(t, f.validator)
	prompts := []string{"Once upon a time", "The dog", "Lily and Tom went to the park to play with a big red ball", "A"}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			maxTok, top := 10+9*i, 2
			temp, seed := 0.0, uint64(0)
			if i%2 == 1 {
				temp, seed = 0.8, uint64(7+i)
			}
			req := api.CompletionRequest{Prompt: api.Prompt{Text: prompts[i%len(prompts)]}, MaxTokens: &maxTok, Temperature: &temp, Seed: &seed, Logprobs: &top}
			resp, err := post(t, c, f.m, "/v1/completions", req)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("request %d: %v %+v", i, err, resp)
				return
			}
			var cr api.CompletionResponse
			if err := json.Unmarshal(resp.Body, &cr); err != nil {
				t.Error(err)
				return
			}
			gr := inference.GenerateRequest{MaxTokens: maxTok, Temperature: temp, Seed: seed, TopLogprobs: top}
			if vd := verify(t, claimFromCompletion(t, gr, cr)); !vd.OK || vd.MaxLogprobError != 0 {
				t.Errorf("request %d: %s %s, logprob error %g", i, vd.Reason, vd.Detail, vd.MaxLogprobError)
			}
		}()
	}
	wg.Wait()
	if steps := metricValue(t, f.m.Metrics(), "merit_miner_batch_steps_total", nil); steps == 0 {
		t.Error("no batch steps counted")
	}
	metricValue(t, f.m.Metrics(), "merit_miner_batch_size", nil)
	metricValue(t, f.m.Metrics(), "merit_miner_batch_tokens_per_second", nil)
}
