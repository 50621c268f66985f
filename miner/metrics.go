package miner

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
)

// Rejection reasons the miner adds to the transport's (which cover
// authentication, authorisation and replay).
const (
	ReasonRateLimited transport.Reason = "rate_limited" // 429: the caller's token bucket is empty
	ReasonQueueFull   transport.Reason = "queue_full"   // 503: every generation slot and queue place is taken
	ReasonTimeout     transport.Reason = "timeout"      // 504: the request outlived --request-timeout
	// 429 and close: the client address holds --max-conns-per-ip connections.
	ReasonTooManyConns transport.Reason = "too_many_connections"
)

// RejectReasons lists every rejection label value of
// merit_miner_rejections_total.
func RejectReasons() []transport.Reason {
	return append(transport.RejectReasons(), ReasonRateLimited, ReasonQueueFull, ReasonTimeout, ReasonTooManyConns)
}

// Metrics are the miner's Prometheus metrics, in their own registry so that
// several servers can live in one process (tests, an e2e harness).
type Metrics struct {
	Registry *prometheus.Registry

	requests     *prometheus.CounterVec
	rejections   *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	ttft         prometheus.Histogram
	tokens       prometheus.Counter
	tokensPerSec prometheus.Gauge
	queueDepth   prometheus.Gauge
	inflight     prometheus.Gauge

	metagraphBlock      prometheus.Gauge
	metagraphFailures   prometheus.Counter
	permittedValidators prometheus.Gauge
	registered          prometheus.Gauge
	endpointCurrent     prometheus.Gauge
	endpointUpdates     *prometheus.CounterVec
	info                *prometheus.GaugeVec
}

// NewMetrics registers the miner's metrics, plus the Go runtime and process
// collectors, in a new registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{Registry: reg}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "merit_miner_requests_total", Help: "HTTP requests answered, by endpoint and status code.",
	}, []string{"endpoint", "code"})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "merit_miner_rejections_total", Help: "Requests refused, by reason (transport reasons plus rate_limited, queue_full, timeout).",
	}, []string{"reason"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "merit_miner_request_duration_seconds", Help: "Time from request to the last byte of the answer, by endpoint.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"endpoint"})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "merit_miner_time_to_first_token_seconds", Help: "Time from request to the first generated token (queue wait included).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.tokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "merit_miner_tokens_generated_total", Help: "Completion tokens generated.",
	})
	m.tokensPerSec = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_tokens_per_second", Help: "Decoding speed of the last finished generation (tokens after the first / time since the first).",
	})
	m.queueDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_queue_depth", Help: "Generations waiting for a slot.",
	})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_generations_in_flight", Help: "Generations running now.",
	})
	m.metagraphBlock = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_metagraph_block", Help: "Block height of the metagraph copy access checks use.",
	})
	m.metagraphFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "merit_miner_metagraph_refresh_failures_total", Help: "Metagraph refreshes that failed (the last good copy stays in use).",
	})
	m.permittedValidators = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_permitted_validators", Help: "Neurons holding a validator permit in the current metagraph.",
	})
	m.registered = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_registered", Help: "1 while the hotkey is registered on the subnet.",
	})
	m.endpointCurrent = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "merit_miner_endpoint_current", Help: "1 when the on-chain endpoint matches what this miner serves.",
	})
	m.endpointUpdates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "merit_miner_endpoint_updates_total", Help: "MsgServeEndpoint transactions, by result (ok, rate_limited, error).",
	}, []string{"result"})
	m.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "merit_miner_info", Help: "Constant 1, labelled with the served model and the hotkey.",
	}, []string{"model", "hotkey"})
	for _, c := range []prometheus.Collector{
		m.requests, m.rejections, m.latency, m.ttft, m.tokens, m.tokensPerSec, m.queueDepth, m.inflight,
		m.metagraphBlock, m.metagraphFailures, m.permittedValidators, m.registered, m.endpointCurrent,
		m.endpointUpdates, m.info,
	} {
		f(c)
	}
	// Zero series for every reason, so dashboards and alerts see them
	// before the first rejection.
	for _, r := range RejectReasons() {
		m.rejections.WithLabelValues(string(r))
	}
	for _, r := range []string{"ok", "rate_limited", "error"} {
		m.endpointUpdates.WithLabelValues(r)
	}
	return m
}

func (m *Metrics) reject(r transport.Reason) { m.rejections.WithLabelValues(string(r)).Inc() }

// observeEngine exports a batching engine's state, read at each scrape.
func (m *Metrics) observeEngine(e inference.Engine) {
	b, ok := e.(batchingEngine)
	if !ok {
		return
	}
	stat := func(f func(inference.BatchStats) float64) func() float64 {
		return func() float64 { return f(b.Stats()) }
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "merit_miner_batch_size", Help: "Sequences in the builtin engine's batch now.",
		}, stat(func(s inference.BatchStats) float64 { return float64(s.Running) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "merit_miner_batch_waiting", Help: "Admitted generations waiting for a place in the batch (KV cache memory).",
		}, stat(func(s inference.BatchStats) float64 { return float64(s.Waiting) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "merit_miner_kv_cache_bytes", Help: "Memory held by the KV caches and buffers of the batch's sequences.",
		}, stat(func(s inference.BatchStats) float64 { return float64(s.KVBytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "merit_miner_batch_tokens_per_second", Help: "Aggregate decoding speed of the batch over the last second of work.",
		}, stat(func(s inference.BatchStats) float64 { return s.TokensPerSecond })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "merit_miner_batch_steps_total", Help: "Steps of the batch (each decodes every running sequence once).",
		}, stat(func(s inference.BatchStats) float64 { return float64(s.Steps) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "merit_miner_prefill_tokens_total", Help: "Prompt tokens the batch prefilled.",
		}, stat(func(s inference.BatchStats) float64 { return float64(s.Prefills) })),
	} {
		// A second server on the same Metrics keeps the first engine's series.
		_ = m.Registry.Register(c)
	}
}
