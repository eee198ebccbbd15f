package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Outcomes of a request (the outcome label of rlgo_serve_requests_total).
const (
	outcomeOK           = "ok"
	outcomeBadRequest   = "bad_request"
	outcomeUnauthorized = "unauthorized"
	outcomeOverloaded   = "overloaded"
	outcomeUnavailable  = "unavailable"
)

// metrics are the server's Prometheus series. Every child is resolved at
// start, so recording allocates nothing.
type metrics struct {
	reg       *prometheus.Registry
	requests  map[[2]string]prometheus.Counter // protocol, outcome
	actions   prometheus.Counter
	batchRows prometheus.Histogram
	latency   map[string]prometheus.Observer // protocol
	version   prometheus.Gauge
	swaps     prometheus.Counter
	swapErrs  prometheus.Counter
	sessions  prometheus.GaugeFunc
}

func newMetrics(sessionCount func() float64) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), requests: map[[2]string]prometheus.Counter{}, latency: map[string]prometheus.Observer{}}
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rlgo_serve_requests_total",
		Help: "Act requests answered, by protocol (http, grpc) and outcome (ok, bad_request, unauthorized, overloaded, unavailable)."},
		[]string{"protocol", "outcome"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rlgo_serve_request_duration_seconds",
		Help:    "Time from a decoded act request to its encoded answer (queueing, batching and the forward pass), by protocol.",
		Buckets: prometheus.ExponentialBuckets(25e-6, 2, 14)}, []string{"protocol"})
	m.actions = prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_serve_actions_total", Help: "Actions computed (observations answered)."})
	m.batchRows = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rlgo_serve_batch_size",
		Help: "Observations per forward pass.", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.version = prometheus.NewGauge(prometheus.GaugeOpts{Name: "rlgo_serve_policy_version", Help: "Weights version of the policy served."})
	m.swaps = prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_serve_swaps_total", Help: "Policies swapped in after the first."})
	m.swapErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "rlgo_serve_swap_errors_total", Help: "New checkpoints that could not be served (damaged, incompatible, or an older version)."})
	m.sessions = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rlgo_serve_sessions", Help: "Open frame-stack sessions."}, sessionCount)
	m.reg.MustRegister(reqs, lat, m.actions, m.batchRows, m.version, m.swaps, m.swapErrs, m.sessions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, p := range []string{"http", "grpc"} {
		m.latency[p] = lat.WithLabelValues(p)
		for _, o := range []string{outcomeOK, outcomeBadRequest, outcomeUnauthorized, outcomeOverloaded, outcomeUnavailable} {
			m.requests[[2]string{p, o}] = reqs.WithLabelValues(p, o)
		}
	}
	return m
}

// request counts one answered request.
func (m *metrics) request(protocol, outcome string) { m.requests[[2]string{protocol, outcome}].Inc() }
