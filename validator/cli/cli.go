package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/backoff"
	"github.com/meritnet/merit/internal/daemon"
	"github.com/meritnet/merit/validator"
	"github.com/meritnet/merit/validator/reference"
)

const (
	flagOutput    = "output"
	defaultHome   = "~/.merit-validator"
	defaultListen = "127.0.0.1:8092"
)

// Help categories of the validator's own flags (the common flags bring Keys,
// Chain and Logging).
const (
	categoryProbe     = "Probing and scoring"
	categoryReference = "Reference model"
	categoryServe     = "Dashboard, metrics and gateway"
)

// NewApp returns the merit-validator command-line application.
func NewApp() *cli.App { return NewAppWithDialer(daemon.DialChain) }

// NewAppWithDialer is NewApp with another way to reach the chain.
func NewAppWithDialer(dial daemon.Dialer) *cli.App {
	return &cli.App{
		Name:  "merit-validator",
		Usage: "grade miners of a Merit subnet and set weights",
		Description: "merit-validator probes the miners of its subnet with generated prompts, verifies every answer " +
			"against the subnet's reference model, scores correctness and speed, and commits and reveals weights " +
			"on the chain's schedule. It serves a dashboard, Prometheus metrics and an OpenAI-compatible gateway.",
		Commands: []*cli.Command{runCommand(dial), statusCommand(dial), weightsCommand(dial), usageCommand()},
	}
}

// nodeFlags are the flags of every command that reads the chain, the same
// as merit-miner's: scripts start both daemons alike.
func nodeFlags() []cli.Flag {
	return daemon.CommonFlags(defaultHome, daemon.FlagUsage{
		Home:     "validator state `DIR` (pending commits, saved scores); also the default keyring directory",
		Hotkey:   "`NAME` of the validator's hotkey in the keyring (required); it signs weights and every request to miners",
		Netuid:   "`NETUID` of the subnet to validate",
		GasPrice: "gas `PRICE` in umerit per gas unit for weight transactions",
	})
}

func runCommand(dial daemon.Dialer) *cli.Command {
	flags := append(nodeFlags(),
		&cli.DurationFlag{Name: "probe-interval", EnvVars: daemon.EnvOf("probe-interval"), Value: 5 * time.Second, Category: categoryProbe,
			Usage: "time between probe rounds"},
		&cli.DurationFlag{Name: "probe-timeout", EnvVars: daemon.EnvOf("probe-timeout"), Value: 20 * time.Second, Category: categoryProbe,
			Usage: "limit for one probe request, whole answer included"},
		&cli.IntFlag{Name: "probe-concurrency", EnvVars: daemon.EnvOf("probe-concurrency"), Value: 4, Category: categoryProbe,
			Usage: "miners probed at the same time (each miner's prompts go one after another)"},
		&cli.IntFlag{Name: "prompts-per-probe", EnvVars: daemon.EnvOf("prompts-per-probe"), Value: 2, Category: categoryProbe,
			Usage: "prompts each miner answers per round"},
		&cli.IntFlag{Name: "max-tokens", EnvVars: daemon.EnvOf("max-tokens"), Category: categoryProbe, DefaultText: "the subnet task's max_tokens",
			Usage: "token `BUDGET` of a probe; the task's max_tokens also caps it"},
		&cli.BoolFlag{Name: "allow-private-endpoints", EnvVars: daemon.EnvOf("allow-private-endpoints"), Category: categoryProbe,
			Usage: "call miners whose endpoint is (or resolves to) a loopback, link-local or private address; for local networks and tests"},
		&cli.Float64Flag{Name: "ema-alpha", EnvVars: daemon.EnvOf("ema-alpha"), Value: 0.3, Category: categoryProbe,
			Usage: "weight of the newest round in the smoothed score, in (0, 1]"},
		&cli.Uint64Flag{Name: "seed", EnvVars: daemon.EnvOf("seed"), Category: categoryProbe, DefaultText: "a secret random seed",
			Usage: "prompt generator `SEED`; fixed only to replay a run (a secret one keeps miners from precomputing answers)"},
		&cli.StringFlag{Name: "reference-engine", EnvVars: daemon.EnvOf("reference-engine"), Value: reference.Builtin, Category: categoryReference,
			Usage: "reference `ENGINE`: builtin (merit-tiny, or --reference-checkpoint) or openai (--reference-upstream)"},
		&cli.StringFlag{Name: "reference-checkpoint", EnvVars: daemon.EnvOf("reference-checkpoint"), TakesFile: true, Category: categoryReference,
			Usage: "llama2.c checkpoint `FILE` of the task model; its sha256 must equal the task's model_sha256"},
		&cli.StringFlag{Name: "reference-tokenizer", EnvVars: daemon.EnvOf("reference-tokenizer"), TakesFile: true, Category: categoryReference,
			Usage: "tokenizer `FILE` for --reference-checkpoint"},
		&cli.StringFlag{Name: "reference-upstream", EnvVars: daemon.EnvOf("reference-upstream"), Category: categoryReference,
			Usage: "base `URL` of an OpenAI-compatible server that can score sequences (vLLM) for --reference-engine openai"},
		&cli.Float64Flag{Name: "logprob-tolerance", EnvVars: daemon.EnvOf("logprob-tolerance"), Category: categoryReference, DefaultText: "1e-3",
			Usage: "largest accepted logprob difference in `NATS`; raise to 0.05-0.1 for GPU references"},
		&cli.Float64Flag{Name: "tie-tolerance", EnvVars: daemon.EnvOf("tie-tolerance"), Category: categoryReference, DefaultText: "1e-3",
			Usage: "greedy near-tie allowance in `NATS`"},
		&cli.StringFlag{Name: "listen", EnvVars: daemon.EnvOf("listen"), Value: defaultListen, Category: categoryServe,
			Usage: "`HOST:PORT` of the dashboard (/), metrics (/metrics), health (/healthz) and gateway (/v1/...); empty disables"},
		&cli.StringFlag{Name: "gateway-keys", EnvVars: daemon.EnvOf("gateway-keys"), TakesFile: true, Category: categoryServe,
			Usage: "operator's own API keys `FILE` (lines \"NAME KEY\" or \"KEY\"), served free; paid keys come from the chain's x/payment accounts"},
		&cli.StringFlag{Name: "gateway-url", EnvVars: daemon.EnvOf("gateway-url"), Category: categoryServe, DefaultText: "http://LISTEN/v1 when --listen names a host",
			Usage: "base `URL` users reach the gateway at, announced on chain (meritd q payment gateways); empty with a wildcard --listen"},
		&cli.Uint64Flag{Name: "settle-every", EnvVars: daemon.EnvOf("settle-every"), Value: 10, Category: categoryServe,
			Usage: "`BLOCKS` between settlements of paid usage (MsgSettleUsage)"},
		&cli.Uint64Flag{Name: "settle-threshold", EnvVars: daemon.EnvOf("settle-threshold"), Value: 1_000_000, Category: categoryServe,
			Usage: "settle sooner once this many `UMERIT` of usage are unsettled"},
		&cli.Float64Flag{Name: "spot-check", EnvVars: daemon.EnvOf("spot-check"), Value: 0.1, Category: categoryServe,
			Usage: "fraction of gateway answers verified against the reference model"},
		&cli.DurationFlag{Name: "poll-interval", EnvVars: daemon.EnvOf("poll-interval"), Value: 2 * time.Second, Category: daemon.CategoryChain,
			Usage: "metagraph poll interval while the block stream is down"},
	)
	return &cli.Command{
		Name:  "run",
		Usage: "run the validator: sync, probe, verify, score, commit and reveal weights",
		Description: "Keeps running until interrupted. Pending commits and scores live in --home, so a restart " +
			"reveals what an earlier run committed.",
		Flags:  flags,
		Before: daemon.ApplyConfigFile,
		Action: func(c *cli.Context) error { return runRun(c, dial) },
	}
}

func runRun(c *cli.Context, dial daemon.Dialer) error {
	log, err := daemon.NewLogger(c.App.ErrWriter, c.String(daemon.FlagLogFormat), c.String(daemon.FlagLogLevel))
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	netuid, err := netuidOf(c)
	if err != nil {
		return err
	}
	cfg := validator.Config{
		Home: c.String(daemon.FlagHome), Netuid: netuid,
		ProbeInterval: c.Duration("probe-interval"), ProbeTimeout: c.Duration("probe-timeout"),
		ProbeConcurrency: c.Int("probe-concurrency"), PromptsPerProbe: c.Int("prompts-per-probe"),
		MaxTokens: c.Int("max-tokens"), EMAAlpha: c.Float64("ema-alpha"), Seed: c.Uint64("seed"),
		Reference: reference.Config{
			Engine: c.String("reference-engine"), Checkpoint: c.String("reference-checkpoint"),
			Tokenizer: c.String("reference-tokenizer"), Upstream: c.String("reference-upstream"),
			Options: inference.VerifyOptions{LogprobTolerance: c.Float64("logprob-tolerance"), TieTolerance: c.Float64("tie-tolerance")},
		},
		Listen: c.String("listen"), GatewayKeys: c.String("gateway-keys"), SpotCheck: c.Float64("spot-check"),
		PollInterval: c.Duration("poll-interval"), AllowPrivateEndpoints: c.Bool("allow-private-endpoints"),
		Paid: validator.PaidConfig{URL: c.String("gateway-url"), SettleEvery: c.Uint64("settle-every"), SettleThreshold: c.Uint64("settle-threshold")},
	}
	if !c.IsSet("gateway-url") {
		cfg.Paid.URL = validator.DefaultGatewayURL(cfg.Listen)
	}
	for _, p := range []*string{&cfg.Home, &cfg.Reference.Checkpoint, &cfg.Reference.Tokenizer, &cfg.GatewayKeys} {
		if *p, err = daemon.ExpandHome(*p); err != nil {
			return err
		}
	}
	switch {
	case c.Int("probe-concurrency") < 1:
		return errors.New("--probe-concurrency must be at least 1")
	case c.Int("prompts-per-probe") < 1:
		return errors.New("--prompts-per-probe must be at least 1")
	case !(c.Float64("ema-alpha") > 0 && c.Float64("ema-alpha") <= 1):
		return errors.New("--ema-alpha must be in (0, 1]")
	case c.Duration("probe-interval") <= 0 || c.Duration("probe-timeout") <= 0:
		return errors.New("--probe-interval and --probe-timeout must be positive")
	case c.Uint64("settle-every") < 1 || c.Uint64("settle-threshold") < 1:
		return errors.New("--settle-every and --settle-threshold must be at least 1")
	}
	if err := validator.CheckGatewayURL(cfg.Paid.URL); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	id, err := daemon.LoadHotkey(c, identity.WithCachedKey())
	if err != nil {
		return err
	}
	ch, err := dialWithRetry(c.Context, c, dial, log)
	if err != nil {
		return err
	}
	defer ch.Close()
	log.Info("connected to the chain", zap.String("chain_id", ch.ChainID()), zap.String("grpc", c.String(daemon.FlagGRPC)))
	v, err := validator.New(cfg, ch, id, log)
	if err != nil {
		return err
	}
	return v.Run(c.Context)
}

// dialWithRetry waits for the node: a validator started with its node
// (systemd, compose) should not die because the node is a second slower.
func dialWithRetry(ctx context.Context, c *cli.Context, dial daemon.Dialer, log *zap.Logger) (chain.Chain, error) {
	retry := backoff.New(time.Second, 30*time.Second)
	for {
		ch, err := dial(ctx, daemon.ChainConfig(c))
		if err == nil {
			return ch, nil
		}
		if errors.Is(err, chain.ErrChainIDMismatch) || ctx.Err() != nil {
			return nil, err
		}
		wait := retry.Next()
		log.Warn("chain not reachable; retrying", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func netuidOf(c *cli.Context) (uint32, error) {
	n := c.Uint(daemon.FlagNetuid)
	if n == 0 || n > 65535 {
		return 0, fmt.Errorf("--%s %d: want 1-65535", daemon.FlagNetuid, n)
	}
	return uint32(n), nil
}
