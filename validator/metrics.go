package validator

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/validator/gateway"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// Metrics are the validator's Prometheus series, on their own registry so
// that tests and several validators in one process do not collide.
type Metrics struct {
	Registry *prometheus.Registry

	Probes               *prometheus.CounterVec   // result
	VerificationFailures *prometheus.CounterVec   // reason
	WeightSubmissions    *prometheus.CounterVec   // kind, result
	Score                *prometheus.GaugeVec     // uid, hotkey
	TTFT                 prometheus.Histogram     // seconds
	TokensPerSecond      prometheus.Histogram     // tokens/s
	ProbeLatency         prometheus.Histogram     // seconds
	Rounds               prometheus.Counter       //
	Gateway              *prometheus.CounterVec   // result
	SpotChecks           *prometheus.CounterVec   // result
	Height               prometheus.Gauge         //
	PendingCommits       prometheus.Gauge         //
	ChainErrors          *prometheus.CounterVec   // what
	GatewayLatency       *prometheus.HistogramVec // endpoint
}

// NewMetrics registers every series, with the label values known in
// advance pre-set to zero so dashboards show them before the first event.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		Probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "probes_total", Help: "Probe requests to miners by result.",
		}, []string{"result"}),
		VerificationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "verification_failures_total", Help: "Answers that failed verification, by reason (probes and spot checks).",
		}, []string{"reason"}),
		WeightSubmissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "weight_submissions_total", Help: "Weight transactions by kind (set, commit, reveal) and result.",
		}, []string{"kind", "result"}),
		Score: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "merit_validator", Name: "miner_score", Help: "Smoothed score of each miner (0..1).",
		}, []string{"uid", "hotkey"}),
		TTFT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "merit_validator", Name: "probe_ttft_seconds", Help: "Time to first token of successful probes.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		TokensPerSecond: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "merit_validator", Name: "probe_tokens_per_second", Help: "Generation speed of successful probes.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}),
		ProbeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "merit_validator", Name: "probe_latency_seconds", Help: "Total latency of successful probes.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
		Rounds: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "rounds_total", Help: "Probe rounds completed.",
		}),
		Gateway: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "gateway_requests_total", Help: "Gateway requests by result.",
		}, []string{"result"}),
		SpotChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "spot_checks_total", Help: "Gateway answers verified, by result.",
		}, []string{"result"}),
		Height: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "merit_validator", Name: "chain_height", Help: "Height of the last metagraph snapshot.",
		}),
		PendingCommits: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "merit_validator", Name: "pending_commits", Help: "Weight commits waiting for their reveal.",
		}),
		ChainErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "merit_validator", Name: "chain_errors_total", Help: "Failed chain queries by what was asked.",
		}, []string{"what"}),
		GatewayLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "merit_validator", Name: "gateway_latency_seconds", Help: "Gateway request latency.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"endpoint"}),
	}
	r.MustRegister(m.Probes, m.VerificationFailures, m.WeightSubmissions, m.Score, m.TTFT, m.TokensPerSecond,
		m.ProbeLatency, m.Rounds, m.Gateway, m.SpotChecks, m.Height, m.PendingCommits, m.ChainErrors, m.GatewayLatency)
	for _, res := range miners.ProbeResults() {
		m.Probes.WithLabelValues(res)
	}
	for _, reason := range verificationReasons() {
		m.VerificationFailures.WithLabelValues(reason)
	}
	for _, kind := range []string{"set", "commit", "reveal"} {
		m.WeightSubmissions.WithLabelValues(kind, "ok")
	}
	for _, res := range []string{"ok", "unauthorized", "bad_request", "no_miner", "upstream_error"} {
		m.Gateway.WithLabelValues(res)
	}
	for _, res := range []string{"ok", "failed", "error", "skipped"} {
		m.SpotChecks.WithLabelValues(res)
	}
	return m
}

// SetScores replaces the score gauges, dropping miners that left.
func (m *Metrics) SetScores(scores []MinerScore) {
	m.Score.Reset()
	for _, s := range scores {
		m.Score.WithLabelValues(strconv.Itoa(int(s.UID)), s.Hotkey).Set(s.Score)
	}
}

// gateway is the gateway's share of the series.
func (m *Metrics) gateway() *gateway.Metrics {
	return &gateway.Metrics{Requests: m.Gateway, Latency: m.GatewayLatency, SpotChecks: m.SpotChecks,
		VerificationFailures: m.VerificationFailures}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// verificationReasons lists the failure reasons for metric labels.
func verificationReasons() []string {
	return []string{
		string(inference.ReasonInvalidToken), string(inference.ReasonTooLong), string(inference.ReasonMissingLogprobs),
		string(inference.ReasonNotArgmax), string(inference.ReasonNotSampled), string(inference.ReasonLogprobMismatch),
		string(inference.ReasonTopLogprobMismatch), string(inference.ReasonDecodeMismatch),
		string(inference.ReasonBadStopReason), string(inference.ReasonTruncated), reference.ReasonPromptMismatch, miners.ResultWrongModel,
	}
}
