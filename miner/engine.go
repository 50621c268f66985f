package miner

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/openai"
	"github.com/meritnet/merit/internal/daemon"
)

// Flags that choose and shape the served engine.
const (
	flagEngine          = "engine"
	flagBuiltinSeed     = "builtin-seed"
	flagUpstream        = "upstream"
	flagUpstreamModel   = "upstream-model"
	flagUpstreamKey     = "upstream-api-key"
	flagUpstreamDialect = "upstream-dialect"
	flagModelID         = "model-id"
	flagFaultDelay      = "fault-delay"
	flagFaultRandom     = "fault-random-tokens"
	flagMaxBatch        = "max-batch"
	flagKVCacheMiB      = "kv-cache-mib"
	flagPrefillTokens   = "prefill-tokens"
)

// Defaults of the builtin engine's batching.
const (
	DefaultMaxBatch      = 16
	DefaultPrefillTokens = 32
)

func engineFlags() []cli.Flag {
	flags := append([]cli.Flag{
		&cli.StringFlag{
			Name: flagEngine, EnvVars: daemon.EnvOf(flagEngine), Value: "builtin", Category: categoryModel,
			Usage: "`ENGINE`: builtin (pure-Go llama2.c runtime: merit-tiny or --checkpoint) or openai (proxy to --upstream)",
		},
	}, modelFlags(categoryModel)...)
	return append(flags,
		&cli.IntFlag{
			Name: flagMaxBatch, EnvVars: daemon.EnvOf(flagMaxBatch), Value: DefaultMaxBatch, Category: categoryBatching,
			Usage: "`N` generations the builtin engine runs at once as one batch (continuous batching: requests join and " +
				"leave between steps, answers bit-identical to serving each alone); it replaces --concurrency for the builtin " +
				"engine; 1 turns batching off (then --concurrency generations run side by side, each alone)",
		},
		&cli.IntFlag{
			Name: flagKVCacheMiB, EnvVars: daemon.EnvOf(flagKVCacheMiB), Category: categoryBatching,
			Usage: "bound the KV caches of the batch to `MIB` mebibytes: a request whose cache does not fit waits for others to " +
				"finish (0: only --max-batch bounds it); a request that could never fit is refused with 400",
		},
		&cli.IntFlag{
			Name: flagPrefillTokens, EnvVars: daemon.EnvOf(flagPrefillTokens), Value: DefaultPrefillTokens, Category: categoryBatching,
			Usage: "prompt tokens the batch prefills per step at most (`N`), so a long prompt delays running streams by one chunk, not its length",
		},
		&cli.StringFlag{
			Name: flagUpstream, EnvVars: daemon.EnvOf(flagUpstream), Category: categoryUpstreamEngine,
			Usage: "`URL` of an OpenAI-compatible server that returns logprobs (llama.cpp server, vLLM), e.g. http://127.0.0.1:8080",
		},
		&cli.StringFlag{
			Name: flagUpstreamModel, EnvVars: daemon.EnvOf(flagUpstreamModel), Category: categoryUpstreamEngine,
			Usage: "model `NAME` to ask the upstream for (default: the first of its /v1/models)",
		},
		&cli.StringFlag{
			Name: flagUpstreamKey, EnvVars: daemon.EnvOf(flagUpstreamKey), Category: categoryUpstreamEngine,
			Usage: "bearer `KEY` for the upstream, if it wants one (prefer the MERIT_UPSTREAM_API_KEY variable)",
		},
		&cli.StringFlag{
			Name: flagUpstreamDialect, EnvVars: daemon.EnvOf(flagUpstreamDialect), Category: categoryUpstreamEngine,
			Usage: "`DIALECT` of the upstream: vllm, llamacpp or openai (default: probe /v1/models)",
		},
		&cli.StringFlag{
			Name: flagModelID, EnvVars: daemon.EnvOf(flagModelID), Category: categoryUpstreamEngine,
			Usage: "model `ID` to announce for the upstream's model, \"<name>@sha256:<hex of the weights file>\"; " +
				"it must equal the subnet task's model id (default: the upstream's model name, which never does)",
		},
		&cli.Uint64Flag{
			Name: flagBuiltinSeed, EnvVars: daemon.EnvOf(flagBuiltinSeed), Category: categoryTesting,
			Usage: "[testing] serve a merit-tiny-shaped model built from this `SEED` instead of merit-tiny: a different model, " +
				"which validators must catch (needs --allow-model-mismatch)",
		},
		&cli.DurationFlag{
			Name: flagFaultDelay, EnvVars: daemon.EnvOf(flagFaultDelay), Category: categoryTesting,
			Usage: "[testing] sleep this `DURATION` before each generated token: a deliberately slow miner",
		},
		&cli.BoolFlag{
			Name: flagFaultRandom, EnvVars: daemon.EnvOf(flagFaultRandom), Category: categoryTesting,
			Usage: "[testing] answer with random token ids and made-up logprobs in a well-formed response: a cheating miner",
		},
	)
}

// faultsOf are the testing knobs the flags set.
func faultsOf(c *cli.Context) Faults {
	return Faults{Delay: c.Duration(flagFaultDelay), RandomTokens: c.Bool(flagFaultRandom)}
}

// buildEngine makes the engine the flags describe, without faults.
func buildEngine(c *cli.Context, timeout time.Duration) (inference.Engine, error) {
	switch name := c.String(flagEngine); name {
	case "builtin":
		for _, f := range []string{flagUpstream, flagUpstreamModel, flagModelID, flagUpstreamDialect} {
			if c.String(f) != "" {
				return nil, fmt.Errorf("--%s applies to --engine openai, not builtin", f)
			}
		}
		opts, err := batchOptionsOf(c)
		if err != nil {
			return nil, err
		}
		if !c.IsSet(flagBuiltinSeed) {
			le, err := loadEngine(c)
			if err != nil {
				return nil, err
			}
			return batched(le, opts), nil
		}
		if c.String(flagCheckpoint) != "" || c.String(flagTokenizer) != "" {
			return nil, fmt.Errorf("--%s builds merit-tiny's shape from a seed; it cannot be combined with --%s/--%s", flagBuiltinSeed, flagCheckpoint, flagTokenizer)
		}
		m, t, err := inference.NewTiny(c.Uint64(flagBuiltinSeed))
		if err != nil {
			return nil, err
		}
		le, err := inference.NewLocalEngine(m, t, inference.Options{Threads: c.Int(flagThreads)})
		if err != nil {
			return nil, err
		}
		return batched(le, opts), nil
	case "openai":
		if c.String(flagCheckpoint) != "" || c.IsSet(flagBuiltinSeed) {
			return nil, fmt.Errorf("--%s and --%s apply to --engine builtin", flagCheckpoint, flagBuiltinSeed)
		}
		for _, f := range []string{flagMaxBatch, flagKVCacheMiB, flagPrefillTokens} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s applies to --engine builtin; an upstream server batches by itself", f)
			}
		}
		up := c.String(flagUpstream)
		if up == "" {
			return nil, fmt.Errorf("--engine openai needs --%s URL (an OpenAI-compatible server such as llama.cpp's or vLLM's)", flagUpstream)
		}
		b, err := openai.New(openai.Config{
			BaseURL: up, Model: c.String(flagUpstreamModel), APIKey: c.String(flagUpstreamKey),
			Dialect: openai.Dialect(c.String(flagUpstreamDialect)), ModelID: c.String(flagModelID), Timeout: timeout,
		})
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
		defer cancel()
		if err := b.Probe(ctx); err != nil {
			return nil, fmt.Errorf("upstream %s: %w", up, err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("--%s %q: want builtin or openai", flagEngine, name)
	}
}

// batchOptionsOf reads the batching flags; MaxBatch 1 means no batching.
func batchOptionsOf(c *cli.Context) (inference.BatchOptions, error) {
	o := inference.BatchOptions{
		MaxBatch: c.Int(flagMaxBatch), KVBytes: int64(c.Int(flagKVCacheMiB)) << 20,
		PrefillTokens: c.Int(flagPrefillTokens), Threads: c.Int(flagThreads),
	}
	switch {
	case o.MaxBatch < 1:
		return o, fmt.Errorf("--%s must be at least 1 (1 turns batching off)", flagMaxBatch)
	case o.KVBytes < 0:
		return o, fmt.Errorf("--%s must not be negative", flagKVCacheMiB)
	case o.PrefillTokens < 1:
		return o, fmt.Errorf("--%s must be at least 1", flagPrefillTokens)
	case o.MaxBatch > 1 && c.IsSet(flagConcurrency):
		return o, fmt.Errorf("--%s applies without batching; the builtin engine runs --%s generations at once (set --%s 1 to use --%s)",
			flagConcurrency, flagMaxBatch, flagMaxBatch, flagConcurrency)
	case o.MaxBatch == 1 && (c.IsSet(flagKVCacheMiB) || c.IsSet(flagPrefillTokens)):
		return o, fmt.Errorf("--%s and --%s apply to batching, which --%s 1 turns off", flagKVCacheMiB, flagPrefillTokens, flagMaxBatch)
	}
	return o, nil
}

// batched serves le through a Batcher unless batching is off. The Batcher's
// loop lives as long as the process.
func batched(le *inference.LocalEngine, o inference.BatchOptions) inference.Engine {
	if o.MaxBatch <= 1 {
		return le
	}
	return inference.NewBatcher(le, o)
}
