// Package metrics defines every Prometheus collector Patchbay exports. All
// collectors are registered on an injected prometheus.Registerer; nothing
// here touches the global default registry. Label values are bounded: routes,
// operations, outcomes, status codes and reasons, never ids or tokens.
package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "patchbay"

// Intake holds the api's collectors.
type Intake struct {
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Accepted        *prometheus.CounterVec
}

// NewIntake creates and registers the intake collectors.
func NewIntake(reg prometheus.Registerer) (*Intake, error) {
	m := &Intake{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "intake", Name: "requests_total",
			Help: "Intake HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "intake", Name: "request_duration_seconds",
			Help:    "Intake HTTP request duration by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 60},
		}, []string{"route"}),
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "changes_accepted_total",
			Help: "Changes accepted (202, durable in JetStream) by operation.",
		}, []string{"operation"}),
	}
	return m, register(reg, m.Requests, m.RequestDuration, m.Accepted)
}

// Preset exports the accepted counter of every operation at zero.
func (m *Intake) Preset(operations []string) {
	for _, op := range operations {
		m.Accepted.WithLabelValues(op)
	}
}

// Worker holds the worker's collectors.
type Worker struct {
	Completed        *prometheus.CounterVec
	EndToEnd         *prometheus.HistogramVec
	Upstream         *prometheus.CounterVec
	UpstreamDuration *prometheus.HistogramVec
	Retries          *prometheus.CounterVec
	GateWait         prometheus.Histogram
	// RateLimitRemaining is the last X-RateLimit-Remaining seen by this
	// worker. It has no labels (one credential per worker) and is exported
	// only once a response carried the header; see SetRateLimitRemaining.
	RateLimitRemaining *prometheus.GaugeVec
	// StuckHeads counts reports of a resource's first queued change that
	// JetStream stopped delivering (each triggers a queue repair).
	StuckHeads prometheus.Counter
}

// NewWorker creates and registers the worker collectors.
func NewWorker(reg prometheus.Registerer) (*Worker, error) {
	m := &Worker{
		Completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "changes_completed_total",
			Help: "Changes that reached a terminal state, by operation and outcome (succeeded, failed).",
		}, []string{"operation", "outcome"}),
		EndToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "change_end_to_end_seconds",
			Help:    "Seconds from acceptance to terminal state, by operation and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"operation", "outcome"}),
		Upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "upstream", Name: "requests_total",
			Help: "Upstream (Confluent Cloud) requests by operation and status code (\"error\" when no response).",
		}, []string{"operation", "code"}),
		UpstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "upstream", Name: "request_duration_seconds",
			Help:    "Upstream request duration by operation.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "retries_total",
			Help: "Changes handed back for a later attempt, by reason.",
		}, []string{"reason"}),
		GateWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "ratelimit", Name: "gate_wait_seconds",
			Help:    "Time a change waited in-line for its slot at the fleet-wide rate-limit gate.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		RateLimitRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "ratelimit", Name: "remaining_requests",
			Help: "Last X-RateLimit-Remaining the upstream reported to this worker (requests left in the window).",
		}, nil),
		StuckHeads: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "stuck_heads_total",
			Help: "Times this worker found a resource's first queued change unmoved for several leases while later changes were delivered (JetStream not delivering it); each report triggers a queue repair.",
		}),
	}
	return m, register(reg, m.Completed, m.EndToEnd, m.Upstream, m.UpstreamDuration, m.Retries, m.GateWait, m.RateLimitRemaining, m.StuckHeads)
}

// Outcomes of a change, the values of the outcome label.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
)

// Preset exports every operation x outcome of the completed counter, and
// every retry reason, at zero, so that rate() and increase() see the first
// change and alerts can tell "nothing completed" from "no series".
func (m *Worker) Preset(operations, retryReasons []string) {
	for _, op := range operations {
		for _, outcome := range []string{OutcomeSucceeded, OutcomeFailed} {
			m.Completed.WithLabelValues(op, outcome)
		}
	}
	for _, r := range retryReasons {
		m.Retries.WithLabelValues(r)
	}
}

// SetRateLimitRemaining records the last X-RateLimit-Remaining seen.
func (m *Worker) SetRateLimitRemaining(n int) {
	m.RateLimitRemaining.WithLabelValues().Set(float64(n))
}

// NewGateClosed registers patchbay_ratelimit_gate_closed, 1 while the
// fleet-wide rate-limit gate forbids sending (a Retry-After or an exhausted
// window) and 0 otherwise. closed is called at every scrape and must be
// cheap: it reads the gate's local, watched view.
func NewGateClosed(reg prometheus.Registerer, closed func() bool) error {
	if closed == nil {
		return fmt.Errorf("metrics: nil gate view")
	}
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "ratelimit", Name: "gate_closed",
		Help: "1 while the fleet-wide rate-limit gate is closed (Retry-After or an exhausted window), else 0.",
	}, func() float64 {
		if closed() {
			return 1
		}
		return 0
	})
	return register(reg, g)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return fmt.Errorf("metrics: nil registerer")
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: register: %w", err)
		}
	}
	return nil
}
