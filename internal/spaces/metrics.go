package spaces

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the client's Prometheus metrics. One set serves every client
// of a process; register it once (the manager uses controller-runtime's
// registry, so they appear on its /metrics).
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	retries   *prometheus.CounterVec
	throttled prometheus.Counter
	mints     prometheus.Counter
	mintFails prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests that read them directly).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spaces_api_requests_total",
			Help: "Requests sent to the Spaces API, by endpoint and HTTP status code (\"error\" when no response came).",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "spaces_api_request_duration_seconds",
			Help:    "Latency of Spaces API requests, by endpoint.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "spaces_api_retries_total",
			Help: "Spaces API requests sent again, by endpoint and reason (rate_limited, unavailable, unauthorized).",
		}, []string{"endpoint", "reason"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spaces_api_throttled_seconds_total",
			Help: "Time requests spent waiting for the per-credential rate limit or a 429 pause.",
		}),
		mints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spaces_jwt_mints_total",
			Help: "Service-app JWTs signed.",
		}),
		mintFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "spaces_jwt_mint_failures_total",
			Help: "Service-app JWTs that could not be signed (a key the signer refuses).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.retries, m.throttled, m.mints, m.mintFails)
	}
	return m
}

// JWTMinted counts a mint; pass it as TokenOptions.OnMint.
func (m *Metrics) JWTMinted() {
	if m != nil {
		m.mints.Inc()
	}
}

// JWTMintFailed counts a failed mint; pass it as TokenOptions.OnMintFailure.
func (m *Metrics) JWTMintFailed() {
	if m != nil {
		m.mintFails.Inc()
	}
}

// Describe sends the descriptions of every metric, so a test can list what
// the manager exports without waiting for a sample of each.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.retries, m.throttled, m.mints, m.mintFails} {
		c.Describe(ch)
	}
}
