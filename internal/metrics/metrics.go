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

// Worker holds the worker's collectors.
type Worker struct {
	Completed        *prometheus.CounterVec
	EndToEnd         *prometheus.HistogramVec
	Upstream         *prometheus.CounterVec
	UpstreamDuration *prometheus.HistogramVec
	Retries          *prometheus.CounterVec
	GateWait         prometheus.Histogram
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
	}
	return m, register(reg, m.Completed, m.EndToEnd, m.Upstream, m.UpstreamDuration, m.Retries, m.GateWait)
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
