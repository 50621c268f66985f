package gateway

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the series the gateway counts in. The validator owns and
// registers them: VerificationFailures is shared with its probes.
type Metrics struct {
	Requests             *prometheus.CounterVec   // result
	Latency              *prometheus.HistogramVec // endpoint
	SpotChecks           *prometheus.CounterVec   // result
	VerificationFailures *prometheus.CounterVec   // reason
}
