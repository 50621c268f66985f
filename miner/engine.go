package miner

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/daemon"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/openai"
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
)

func engineFlags() []cli.Flag {
	flags := append([]cli.Flag{
		&cli.StringFlag{
			Name: flagEngine, EnvVars: daemon.EnvOf(flagEngine), Value: "builtin", Category: categoryModel,
			Usage: "`ENGINE`: builtin (pure-Go llama2.c runtime: merit-tiny or --checkpoint) or openai (proxy to --upstream)",
		},
	}, modelFlags(categoryModel)...)
	return append(flags,
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
		if !c.IsSet(flagBuiltinSeed) {
			le, err := loadEngine(c)
			if err != nil {
				return nil, err
			}
			return le, nil
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
		return le, nil
	case "openai":
		if c.String(flagCheckpoint) != "" || c.IsSet(flagBuiltinSeed) {
			return nil, fmt.Errorf("--%s and --%s apply to --engine builtin", flagCheckpoint, flagBuiltinSeed)
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
