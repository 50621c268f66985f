package validator

import (
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// PaidConfig is how the gateway takes payment (docs/payment.md).
type PaidConfig struct {
	// URL is the gateway's base URL, announced on chain so users find it
	// with `meritd q payment gateways`; "" announces nothing.
	URL string
	// SettleEvery is the blocks between settlements (default 10);
	// SettleThreshold (umerit) settles sooner once that much is unsettled
	// (default 1 MERIT).
	SettleEvery     uint64
	SettleThreshold uint64
}

func (c *PaidConfig) defaults() {
	if c.SettleEvery == 0 {
		c.SettleEvery = 10
	}
	if c.SettleThreshold == 0 {
		c.SettleThreshold = 1_000_000
	}
}

// DefaultGatewayURL is the URL to announce for a listen address: its
// /v1 base when the host is concrete, "" for a wildcard (which no user
// can dial).
func DefaultGatewayURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return ""
	}
	return "http://" + net.JoinHostPort(host, port) + "/v1"
}

// billingMetrics are the paid gateway's series.
type billingMetrics struct {
	Tokens      prometheus.Counter
	Metered     prometheus.Counter     // umerit
	Settled     prometheus.Counter     // umerit charged by the chain
	Shortfall   prometheus.Counter     // umerit the chain could not charge
	Settlements *prometheus.CounterVec // result
	Unsettled   prometheus.Gauge       // umerit
	Overhead    prometheus.Histogram   // seconds
	BookReads   *prometheus.CounterVec // kind: full, patch
}

func newBillingMetrics(r *prometheus.Registry) *billingMetrics {
	m := &billingMetrics{
		Tokens: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "tokens_total", Help: "Tokens served to paid accounts (prompt + completion)."}),
		Metered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "metered_umerit_total", Help: "umerit metered for paid requests at the subnet price."}),
		Settled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "settled_umerit_total", Help: "umerit the chain charged in this gateway's settlements."}),
		Shortfall: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "shortfall_umerit_total", Help: "umerit served that the chain could not charge (balance or limit exhausted)."}),
		Settlements: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "settlements_total", Help: "Settlement transactions by result (ok, failed)."}, []string{"result"}),
		Unsettled: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "merit_validator", Subsystem: "billing",
			Name: "unsettled_umerit", Help: "umerit served and not yet settled."}),
		Overhead: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "merit_validator", Subsystem: "gateway",
			Name: "overhead_seconds", Help: "The gateway's own time per answered request, without the miner's (auth, parsing, admission, metering).",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3}}),
	}
	m.BookReads = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "merit_validator", Subsystem: "billing",
		Name: "book_reads_total", Help: "Reads of the subnet's payment accounts: full (every account) or patch (the accounts new blocks changed)."}, []string{"kind"})
	r.MustRegister(m.Tokens, m.Metered, m.Settled, m.Shortfall, m.Settlements, m.Unsettled, m.Overhead, m.BookReads)
	m.BookReads.WithLabelValues("full")
	m.BookReads.WithLabelValues("patch")
	m.Settlements.WithLabelValues("ok")
	m.Settlements.WithLabelValues("failed")
	return m
}

// CheckGatewayURL refuses at start a URL the chain would refuse to list
// ("" is fine: nothing is announced).
func CheckGatewayURL(raw string) error {
	if raw == "" {
		return nil
	}
	if err := paymenttypes.ValidateGatewayURL(raw, paymenttypes.DefaultParams().MaxUrlLength); err != nil {
		return fmt.Errorf("--gateway-url %q: %w", raw, err)
	}
	return nil
}
