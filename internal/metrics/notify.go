package metrics

import "github.com/prometheus/client_golang/prometheus"

// Notify holds the notifier's collectors. The destination label is a
// destination kind ("webhook", "jira", "servicenow", "slack"), never a URL,
// ticket or caller.
type Notify struct {
	// Deliveries counts deliveries that ended, by outcome (delivered, given_up).
	Deliveries *prometheus.CounterVec
	// Duration observes every delivery attempt.
	Duration *prometheus.HistogramVec
	// Retries counts attempts handed back for another try.
	Retries *prometheus.CounterVec
	// GivenUp counts deliveries given up, by reason (permanent, max_attempts, max_age).
	GivenUp *prometheus.CounterVec
}

// Notify outcome and give-up reason label values.
const (
	NotifyDelivered   = "delivered"
	NotifyGivenUp     = "given_up"
	GiveUpPermanent   = "permanent"
	GiveUpMaxAttempts = "max_attempts"
	GiveUpMaxAge      = "max_age"
)

// NewNotify creates and registers the notifier collectors.
func NewNotify(reg prometheus.Registerer) (*Notify, error) {
	m := &Notify{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "notify", Name: "deliveries_total",
			Help: "Outbound notification deliveries that ended, by destination kind and outcome (delivered, given_up).",
		}, []string{"destination", "outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "notify", Name: "delivery_duration_seconds",
			Help:    "Duration of one outbound notification attempt, by destination kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"destination"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "notify", Name: "retries_total",
			Help: "Outbound notification attempts that failed and will be tried again, by destination kind.",
		}, []string{"destination"}),
		GivenUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "notify", Name: "given_up_total",
			Help: "Outbound notification deliveries given up, by destination kind and reason (permanent, max_attempts, max_age).",
		}, []string{"destination", "reason"}),
	}
	return m, register(reg, m.Deliveries, m.Duration, m.Retries, m.GivenUp)
}

// Preset exports every series of the destinations at zero.
func (m *Notify) Preset(destinations []string) {
	for _, d := range destinations {
		m.Deliveries.WithLabelValues(d, NotifyDelivered)
		m.Deliveries.WithLabelValues(d, NotifyGivenUp)
		m.Retries.WithLabelValues(d)
		for _, r := range []string{GiveUpPermanent, GiveUpMaxAttempts, GiveUpMaxAge} {
			m.GivenUp.WithLabelValues(d, r)
		}
	}
}
