package validator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
)

// Flag names shared with merit-miner: scripts start both daemons alike.
const (
	flagConfig            = "config"
	flagHome              = "home"
	flagKeyringBackend    = "keyring-backend"
	flagKeyringDir        = "keyring-dir"
	flagKeyringPassphrase = "keyring-passphrase-file"
	flagHotkey            = "hotkey"
	flagNetuid            = "netuid"
	flagGRPC              = "grpc"
	flagRPC               = "rpc"
	flagChainID           = "chain-id"
	flagGasPrice          = "gas-price"
	flagLogFormat         = "log-format"
	flagLogLevel          = "log-level"
	flagOutput            = "output"

	defaultHome          = "~/.merit-validator"
	defaultListen        = "127.0.0.1:8092"
	envKeyringPassphrase = "MERIT_KEYRING_PASSPHRASE"
)

const (
	categoryKeys      = "Keys"
	categoryChain     = "Chain"
	categoryLogging   = "Logging"
	categoryProbe     = "Probing and scoring"
	categoryReference = "Reference model"
	categoryServe     = "Dashboard, metrics and gateway"
)

// envOf is a flag's environment variable: MERIT_<UPPER_SNAKE>.
func envOf(name string) []string {
	return []string{"MERIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// Dialer connects to the chain; chain.Dial by default, a fake in tests.
type Dialer func(ctx context.Context, cfg chain.Config) (chain.Chain, error)

// DialChain is chain.Dial as a Dialer.
func DialChain(ctx context.Context, cfg chain.Config) (chain.Chain, error) {
	c, err := chain.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// NewApp returns the merit-validator command-line application.
func NewApp() *cli.App { return NewAppWithDialer(DialChain) }

// NewAppWithDialer is NewApp with another way to reach the chain.
func NewAppWithDialer(dial Dialer) *cli.App {
	return &cli.App{
		Name:  "merit-validator",
		Usage: "grade miners of a Merit subnet and set weights",
		Description: "merit-validator probes the miners of its subnet with generated prompts, verifies every answer " +
			"against the subnet's reference model, scores correctness and speed, and commits and reveals weights " +
			"on the chain's schedule. It serves a dashboard, Prometheus metrics and an OpenAI-compatible gateway.",
		Commands: []*cli.Command{runCommand(dial), statusCommand(dial), weightsCommand(dial)},
	}
}

// nodeFlags are the flags of every command that reads the chain.
func nodeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagConfig, EnvVars: envOf(flagConfig), TakesFile: true,
			Usage: "read flag values from a JSON (.json) or YAML (.yaml, .yml) `FILE` whose keys are flag names; " +
				"command-line flags and MERIT_* variables override it"},
		&cli.StringFlag{Name: flagHome, EnvVars: envOf(flagHome), Value: defaultHome, TakesFile: true,
			Usage: "validator state `DIR` (pending commits, saved scores); also the default keyring directory"},
		&cli.StringFlag{Name: flagKeyringBackend, EnvVars: envOf(flagKeyringBackend), Value: "os", Category: categoryKeys,
			Usage: "keyring `BACKEND`: os (the OS secret store), file (encrypted files, needs a passphrase) or test (unencrypted, local networks only)"},
		&cli.StringFlag{Name: flagKeyringDir, EnvVars: envOf(flagKeyringDir), TakesFile: true, Category: categoryKeys,
			Usage: "keyring `DIR`, laid out as meritd's --keyring-dir (default: --home)"},
		&cli.StringFlag{Name: flagKeyringPassphrase, EnvVars: envOf(flagKeyringPassphrase), TakesFile: true, Category: categoryKeys,
			Usage: "`FILE` whose first line is the passphrase of the file keyring (or set " + envKeyringPassphrase + ")"},
		&cli.StringFlag{Name: flagHotkey, EnvVars: envOf(flagHotkey), Category: categoryKeys,
			Usage: "`NAME` of the validator's hotkey in the keyring (required); it signs weights and every request to miners"},
		&cli.UintFlag{Name: flagNetuid, EnvVars: envOf(flagNetuid), Value: 1, Category: categoryChain,
			Usage: "`NETUID` of the subnet to validate"},
		&cli.StringFlag{Name: flagGRPC, EnvVars: envOf(flagGRPC), Value: chain.DefaultGRPCAddr, Category: categoryChain,
			Usage: "`HOST:PORT` of a meritd gRPC server"},
		&cli.StringFlag{Name: flagRPC, EnvVars: envOf(flagRPC), Value: chain.DefaultRPCAddr, Category: categoryChain,
			Usage: "CometBFT RPC `URL` of the same node (block stream)"},
		&cli.StringFlag{Name: flagChainID, EnvVars: envOf(flagChainID), Category: categoryChain,
			Usage: "expected chain `ID`; refuse to run against another chain (default: whatever the node says)"},
		&cli.StringFlag{Name: flagGasPrice, EnvVars: envOf(flagGasPrice), Value: "0", Category: categoryChain,
			Usage: "gas `PRICE` in umerit per gas unit for weight transactions"},
		&cli.StringFlag{Name: flagLogFormat, EnvVars: envOf(flagLogFormat), Value: "console", Category: categoryLogging,
			Usage: "log `FORMAT`: console (human readable) or json (one object per line)"},
		&cli.StringFlag{Name: flagLogLevel, EnvVars: envOf(flagLogLevel), Value: "info", Category: categoryLogging,
			Usage: "log `LEVEL`: debug, info, warn or error"},
	}
}

func runCommand(dial Dialer) *cli.Command {
	flags := append(nodeFlags(),
		&cli.DurationFlag{Name: "probe-interval", EnvVars: envOf("probe-interval"), Value: 5 * time.Second, Category: categoryProbe,
			Usage: "time between probe rounds"},
		&cli.DurationFlag{Name: "probe-timeout", EnvVars: envOf("probe-timeout"), Value: 20 * time.Second, Category: categoryProbe,
			Usage: "limit for one probe request, whole answer included"},
		&cli.IntFlag{Name: "probe-concurrency", EnvVars: envOf("probe-concurrency"), Value: 4, Category: categoryProbe,
			Usage: "miners probed at the same time (each miner's prompts go one after another)"},
		&cli.IntFlag{Name: "prompts-per-probe", EnvVars: envOf("prompts-per-probe"), Value: 2, Category: categoryProbe,
			Usage: "prompts each miner answers per round"},
		&cli.IntFlag{Name: "max-tokens", EnvVars: envOf("max-tokens"), Category: categoryProbe, DefaultText: "the subnet task's max_tokens",
			Usage: "token `BUDGET` of a probe; the task's max_tokens also caps it"},
		&cli.Float64Flag{Name: "ema-alpha", EnvVars: envOf("ema-alpha"), Value: 0.3, Category: categoryProbe,
			Usage: "weight of the newest round in the smoothed score, in (0, 1]"},
		&cli.Uint64Flag{Name: "seed", EnvVars: envOf("seed"), Category: categoryProbe, DefaultText: "a secret random seed",
			Usage: "prompt generator `SEED`; fixed only to replay a run (a secret one keeps miners from precomputing answers)"},
		&cli.StringFlag{Name: "reference-engine", EnvVars: envOf("reference-engine"), Value: ReferenceBuiltin, Category: categoryReference,
			Usage: "reference `ENGINE`: builtin (merit-tiny, or --reference-checkpoint) or openai (--reference-upstream)"},
		&cli.StringFlag{Name: "reference-checkpoint", EnvVars: envOf("reference-checkpoint"), TakesFile: true, Category: categoryReference,
			Usage: "llama2.c checkpoint `FILE` of the task model; its sha256 must equal the task's model_sha256"},
		&cli.StringFlag{Name: "reference-tokenizer", EnvVars: envOf("reference-tokenizer"), TakesFile: true, Category: categoryReference,
			Usage: "tokenizer `FILE` for --reference-checkpoint"},
		&cli.StringFlag{Name: "reference-upstream", EnvVars: envOf("reference-upstream"), Category: categoryReference,
			Usage: "base `URL` of an OpenAI-compatible server that can score sequences (vLLM) for --reference-engine openai"},
		&cli.Float64Flag{Name: "logprob-tolerance", EnvVars: envOf("logprob-tolerance"), Category: categoryReference, DefaultText: "1e-3",
			Usage: "largest accepted logprob difference in `NATS`; raise to 0.05-0.1 for GPU references"},
		&cli.Float64Flag{Name: "tie-tolerance", EnvVars: envOf("tie-tolerance"), Category: categoryReference, DefaultText: "1e-3",
			Usage: "greedy near-tie allowance in `NATS`"},
		&cli.StringFlag{Name: "listen", EnvVars: envOf("listen"), Value: defaultListen, Category: categoryServe,
			Usage: "`HOST:PORT` of the dashboard (/), metrics (/metrics), health (/healthz) and gateway (/v1/...); empty disables"},
		&cli.StringFlag{Name: "gateway-keys", EnvVars: envOf("gateway-keys"), TakesFile: true, Category: categoryServe,
			Usage: "API keys `FILE` for the gateway (lines \"NAME KEY\" or \"KEY\"); without it the gateway answers 503"},
		&cli.Float64Flag{Name: "spot-check", EnvVars: envOf("spot-check"), Value: 0.1, Category: categoryServe,
			Usage: "fraction of gateway answers verified against the reference model"},
		&cli.DurationFlag{Name: "poll-interval", EnvVars: envOf("poll-interval"), Value: 2 * time.Second, Category: categoryChain,
			Usage: "metagraph poll interval while the block stream is down"},
	)
	return &cli.Command{
		Name:  "run",
		Usage: "run the validator: sync, probe, verify, score, commit and reveal weights",
		Description: "Keeps running until interrupted. Pending commits and scores live in --home, so a restart " +
			"reveals what an earlier run committed.",
		Flags:  flags,
		Before: loadConfigFile,
		Action: func(c *cli.Context) error { return runRun(c, dial) },
	}
}

func runRun(c *cli.Context, dial Dialer) error {
	log, err := newLogger(c.App.ErrWriter, c.String(flagLogFormat), c.String(flagLogLevel))
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	netuid, err := netuidOf(c)
	if err != nil {
		return err
	}
	cfg := Config{
		Home: expandHome(c.String(flagHome)), Netuid: netuid,
		ProbeInterval: c.Duration("probe-interval"), ProbeTimeout: c.Duration("probe-timeout"),
		ProbeConcurrency: c.Int("probe-concurrency"), PromptsPerProbe: c.Int("prompts-per-probe"),
		MaxTokens: c.Int("max-tokens"), EMAAlpha: c.Float64("ema-alpha"), Seed: c.Uint64("seed"),
		Reference: ReferenceConfig{
			Engine: c.String("reference-engine"), Checkpoint: expandHome(c.String("reference-checkpoint")),
			Tokenizer: expandHome(c.String("reference-tokenizer")), Upstream: c.String("reference-upstream"),
			Options: inference.VerifyOptions{LogprobTolerance: c.Float64("logprob-tolerance"), TieTolerance: c.Float64("tie-tolerance")},
		},
		Listen: c.String("listen"), GatewayKeys: expandHome(c.String("gateway-keys")), SpotCheck: c.Float64("spot-check"),
		PollInterval: c.Duration("poll-interval"),
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
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	id, err := loadHotkey(c, true)
	if err != nil {
		return err
	}
	ch, err := dialWithRetry(c.Context, c, dial, log)
	if err != nil {
		return err
	}
	defer ch.Close()
	log.Info("connected to the chain", zap.String("chain_id", ch.ChainID()), zap.String("grpc", c.String(flagGRPC)))
	v, err := New(cfg, ch, id, log)
	if err != nil {
		return err
	}
	return v.Run(c.Context)
}

// dialWithRetry waits for the node: a validator started with its node
// (systemd, compose) should not die because the node is a second slower.
func dialWithRetry(ctx context.Context, c *cli.Context, dial Dialer, log *zap.Logger) (chain.Chain, error) {
	wait := time.Second
	for {
		ch, err := dial(ctx, chainConfig(c))
		if err == nil {
			return ch, nil
		}
		if errors.Is(err, chain.ErrChainIDMismatch) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("chain not reachable; retrying", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func chainConfig(c *cli.Context) chain.Config {
	return chain.Config{GRPCAddr: c.String(flagGRPC), RPCAddr: c.String(flagRPC), ChainID: c.String(flagChainID),
		GasPrice: c.String(flagGasPrice)}
}

func netuidOf(c *cli.Context) (uint32, error) {
	n := c.Uint(flagNetuid)
	if n == 0 || n > 65535 {
		return 0, fmt.Errorf("--%s %d: want 1-65535", flagNetuid, n)
	}
	return uint32(n), nil
}

// loadHotkey loads --hotkey. cache keeps the decrypted key in memory: the
// validator signs every probe, and the file keyring would otherwise spend
// ~5 ms decrypting the key per signature.
func loadHotkey(c *cli.Context, cache bool) (*identity.Identity, error) {
	name := c.String(flagHotkey)
	if name == "" {
		return nil, fmt.Errorf("--%s is required: the name of the validator's key in the keyring (create one with `meritd keys add NAME`)", flagHotkey)
	}
	dir := expandHome(c.String(flagKeyringDir))
	if dir == "" {
		dir = expandHome(c.String(flagHome))
	}
	var opts []identity.Option
	if p := c.String(flagKeyringPassphrase); p != "" {
		f, err := os.Open(expandHome(p))
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagKeyringPassphrase, err)
		}
		defer f.Close()
		opts = append(opts, identity.WithPassphraseReader(f))
	} else if p, ok := os.LookupEnv(envKeyringPassphrase); ok {
		opts = append(opts, identity.WithPassphrase(p))
	}
	backend := c.String(flagKeyringBackend)
	kr, err := identity.Open(backend, dir, opts...)
	if errors.Is(err, identity.ErrPassphraseRequired) {
		return nil, fmt.Errorf("%w: pass --%s FILE or set %s", err, flagKeyringPassphrase, envKeyringPassphrase)
	}
	if err != nil {
		return nil, err
	}
	var lopts []identity.LoadOption
	if cache {
		lopts = append(lopts, identity.WithCachedKey())
	}
	id, err := identity.Load(kr, name, lopts...)
	if errors.Is(err, identity.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w; create it with `meritd keys add %s --keyring-backend %s --keyring-dir %s` or check --%s/--%s",
			err, name, backend, dir, flagKeyringBackend, flagKeyringDir)
	}
	return id, err
}

// newLogger writes to w in console or JSON format.
func newLogger(w io.Writer, format, level string) (*zap.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	cfg.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(cfg)
	case "console":
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	default:
		return nil, fmt.Errorf("--log-format %q: want console or json", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}
