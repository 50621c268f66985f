package miner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/connlimit"
)

// Defaults of ServerConfig.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultRequestTimeout = 60 * time.Second
	DefaultConcurrency    = 2
	DefaultQueueSize      = 16
)

// ServerConfig configures a Server. Zero values take the defaults.
type ServerConfig struct {
	// Engine answers completions. Required.
	Engine inference.Engine
	// Signer is the miner's hotkey: callers must address their requests to
	// it, and it signs every response. Required.
	Signer transport.Signer
	// Authorize admits callers (usually (*Access).Authorize); nil admits
	// every caller whose signature verifies, which only tests want.
	Authorize transport.Authorizer
	// MaxTokens returns the largest max_tokens a request may ask for (the
	// subnet task's limit, which governance of the subnet may change); nil
	// or 0 means up to the model's context.
	MaxTokens func() int
	// MaxBodyBytes bounds request bodies (413 beyond). Default 1 MiB.
	MaxBodyBytes int64
	// MaxPromptBytes bounds prompts before they are tokenized (400
	// context_length_exceeded beyond). Default: the longest prompt that
	// could fit the model's context (see promptByteLimit).
	MaxPromptBytes int
	// RequestTimeout bounds a request from arrival to the end of its
	// answer, queue wait included. Default 60 s.
	RequestTimeout time.Duration
	// BodyTimeout bounds reading a request's body (default 10 s): a client
	// that sends its body slowly loses the connection.
	BodyTimeout time.Duration
	// StreamWriteTimeout bounds writing one event of a stream (default
	// 10 s): a client that stops reading loses the stream and frees its
	// generation slot.
	StreamWriteTimeout time.Duration
	// MaxConnsPerIP caps the connections one client address holds open
	// (default 64; negative means no cap). Applies to Serve only.
	MaxConnsPerIP int
	// Concurrency is how many generations run at once (default 2), except
	// for a batching engine, which admits its batch (MaxBatch); QueueSize
	// how many more may wait (default 16; negative means none).
	Concurrency int
	QueueSize   int
	// Health adds fields to the /healthz answer (chain status etc.).
	Health func() map[string]any
	// Logger defaults to a no-op logger; Metrics to a fresh set.
	Logger  *zap.Logger
	Metrics *Metrics
	// MaxSkew and Now are passed to the transport verifier (tests).
	MaxSkew time.Duration
	Now     func() time.Time
}

// Server is the miner's HTTP API: the OpenAI-compatible /v1 routes behind
// the signed transport, plus /healthz and /metrics. Use Handler to mount it
// anywhere, or Serve to run it with graceful shutdown.
type Server struct {
	cfg      ServerConfig
	engine   inference.Engine
	info     inference.ModelInfo
	models   []byte // the /v1/models answer
	log      *zap.Logger
	metrics  *Metrics
	verifier *transport.Verifier
	queue    *admission
	handler  http.Handler
	started  time.Time
	// promptLimit is the largest prompt in bytes, 0 for none.
	promptLimit int
	closing     atomic.Bool
}

// NewServer checks cfg and builds the handler.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("miner: ServerConfig.Engine is required")
	}
	if cfg.Signer == nil {
		return nil, errors.New("miner: ServerConfig.Signer is required")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.StreamWriteTimeout == 0 {
		cfg.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if cfg.QueueSize < 0 {
		cfg.QueueSize = 0
	}
	switch {
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("miner: max body bytes %d is negative", cfg.MaxBodyBytes)
	case cfg.RequestTimeout < 0:
		return nil, fmt.Errorf("miner: request timeout %s is negative", cfg.RequestTimeout)
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("miner: concurrency %d is negative", cfg.Concurrency)
	case cfg.StreamWriteTimeout < 0:
		return nil, fmt.Errorf("miner: stream write timeout %s is negative", cfg.StreamWriteTimeout)
	case cfg.BodyTimeout < 0:
		return nil, fmt.Errorf("miner: body timeout %s is negative", cfg.BodyTimeout)
	case cfg.MaxPromptBytes < 0:
		return nil, fmt.Errorf("miner: max prompt bytes %d is negative", cfg.MaxPromptBytes)
	}
	cfg.Concurrency = admissionSlots(cfg.Engine, cfg.Concurrency)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	s := &Server{cfg: cfg, engine: cfg.Engine, info: cfg.Engine.Info(), log: cfg.Logger, metrics: cfg.Metrics, started: time.Now()}
	models, err := modelList(s.info, s.started)
	if err != nil {
		return nil, fmt.Errorf("miner: encode the model list: %w", err)
	}
	s.models = models
	s.promptLimit = cfg.MaxPromptBytes
	if s.promptLimit == 0 {
		s.promptLimit = promptByteLimit(cfg.Engine, s.info)
	}
	s.metrics.info.WithLabelValues(s.info.ID, cfg.Signer.Address()).Set(1)
	s.metrics.observeEngine(cfg.Engine)
	s.queue = newAdmission(cfg.Concurrency, cfg.QueueSize, func(waiting, running int) {
		s.metrics.queueDepth.Set(float64(waiting))
		s.metrics.inflight.Set(float64(running))
	})
	v, err := transport.NewVerifier(transport.VerifierConfig{
		Signer:       cfg.Signer,
		MaxBodyBytes: cfg.MaxBodyBytes,
		MaxSkew:      cfg.MaxSkew,
		Now:          cfg.Now,
		Authorize:    cfg.Authorize,
		OnReject: func(r *http.Request, e *transport.RejectError) {
			s.metrics.reject(e.Reason)
			s.log.Debug("request refused", zap.String("path", r.URL.Path), zap.String("remote", r.RemoteAddr),
				zap.String("reason", string(e.Reason)), zap.Error(e.Err))
		},
		OnError: func(r *http.Request, err error) {
			s.log.Debug("response not delivered", zap.String("path", r.URL.Path), zap.Error(err))
		},
	})
	if err != nil {
		return nil, err
	}
	s.verifier = v

	api := http.NewServeMux()
	api.HandleFunc("GET /v1/models", s.handleModels)
	api.HandleFunc("POST /v1/completions", s.handleCompletions)
	api.HandleFunc("POST /v1/chat/completions", s.handleChat)
	api.HandleFunc("/v1/", unknownURL)

	root := http.NewServeMux()
	root.Handle("/v1/", v.Middleware(api))
	root.HandleFunc("GET /healthz", s.handleHealth)
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry}))
	// Outside /v1/ no authentication is asked: what exists there is open.
	root.HandleFunc("/", unknownURL)
	s.handler = bodyDeadline(cfg.BodyTimeout, s.instrument(root))
	return s, nil
}

// unknownURL answers a path (or method) no route serves, in OpenAI's shape.
func unknownURL(w http.ResponseWriter, r *http.Request) {
	writeError(w, &apiError{status: http.StatusNotFound, typ: "invalid_request_error", code: "unknown_url",
		msg: fmt.Sprintf("no route %s %s; this miner serves GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /healthz and GET /metrics", r.Method, r.URL.Path)})
}

// Handler is the whole API.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics are the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Serve answers on ln until ctx ends, then stops accepting, lets in-flight
// requests finish (at most the request timeout plus a few seconds) and
// returns nil. Any other error ends it early.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		// No ReadTimeout: bodies get their own deadline (bodyDeadline), and
		// a server-wide one would cancel requests that outlive it.
		// Every request, streams included, ends within the request
		// timeout; the margin lets the handler write its timeout error and
		// the stream's trailer.
		WriteTimeout: s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:  DefaultIdleTimeout,
		ErrorLog:     zap.NewStdLog(s.log.Named("http")),
		// In-flight requests keep their own context: a shutdown signal
		// must not cut answers short.
		BaseContext: func(net.Listener) context.Context { return context.Background() },
	}
	ln = connlimit.PerIP(ln, s.cfg.MaxConnsPerIP, func() { s.metrics.reject(ReasonTooManyConns) })
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.closing.Store(true)
	s.log.Info("shutting down: no new connections, finishing in-flight requests", zap.Duration("grace", s.cfg.RequestTimeout+5*time.Second))
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout+5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// maxTokens is the current per-request limit, 0 for none.
func (s *Server) maxTokens() int {
	if s.cfg.MaxTokens == nil {
		return 0
	}
	return max(0, s.cfg.MaxTokens())
}
