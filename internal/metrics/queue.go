package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// QueueStats is a snapshot of the change queue as JetStream reports it.
type QueueStats struct {
	// Lanes are the queue's consumers: today the one "workers" consumer all
	// workers share (the type keeps its name from the former fixed lanes).
	Lanes []LaneStats
	// Changes is the number of changes in the work-queue stream: waiting,
	// in flight, or handed back for a later attempt.
	Changes uint64
	// Oldest is when the oldest change still in the stream was stored;
	// zero when the stream is empty.
	Oldest time.Time
}

// LaneStats is one consumer of the queue.
type LaneStats struct {
	// Consumer is the durable consumer's name ("workers").
	Consumer string
	// Pending is the number of changes not yet delivered.
	Pending uint64
	// InFlight is the number of changes delivered and not yet acknowledged,
	// including those handed back with a delay (waiting for a retry or
	// behind an earlier change of their resource).
	InFlight int
}

// QueueSource reads the queue's statistics; it must return when ctx ends.
type QueueSource func(ctx context.Context) (QueueStats, error)

// queueCollector reads the queue from JetStream at every scrape, so the
// backlog is what the server holds, not something counted by hand.
type queueCollector struct {
	source  QueueSource
	now     func() time.Time
	timeout time.Duration

	up, changes, oldest, pending, inFlight *prometheus.Desc
}

// NewQueue registers the queue collector: pending and in-flight changes per
// consumer (label consumer), the total backlog, the age of the oldest change
// and whether the statistics could be read. source is called once per
// scrape and bounded by timeout; now is the clock for the age.
func NewQueue(reg prometheus.Registerer, source QueueSource, now func() time.Time, timeout time.Duration) error {
	if source == nil || now == nil || timeout <= 0 {
		return fmt.Errorf("metrics: NewQueue: nil source or clock, or no timeout")
	}
	name := func(n string) string { return prometheus.BuildFQName(namespace, "queue", n) }
	c := &queueCollector{
		source: source, now: now, timeout: timeout,
		up: prometheus.NewDesc(name("stats_up"),
			"1 if the queue statistics were read from JetStream at this scrape, else 0 (and no other queue series).", nil, nil),
		changes: prometheus.NewDesc(name("backlog_changes"),
			"Changes in the work queue (waiting, in flight or waiting for a retry).", nil, nil),
		oldest: prometheus.NewDesc(name("oldest_change_age_seconds"),
			"Age of the oldest change still in the work queue; 0 when it is empty.", nil, nil),
		pending: prometheus.NewDesc(name("pending_changes"),
			"Changes waiting to be delivered, by consumer.", []string{"consumer"}, nil),
		inFlight: prometheus.NewDesc(name("in_flight_changes"),
			"Changes delivered to a worker and not yet acknowledged (including those handed back with a delay), by consumer.", []string{"consumer"}, nil),
	}
	return register(reg, c)
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.changes, c.oldest, c.pending, c.inFlight} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.source(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.changes, prometheus.GaugeValue, float64(st.Changes))
	age := 0.0
	if st.Changes > 0 && !st.Oldest.IsZero() {
		age = max(c.now().Sub(st.Oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
	seen := make(map[string]bool, len(st.Lanes))
	for _, l := range st.Lanes {
		if l.Consumer == "" || seen[l.Consumer] {
			continue // a duplicate series would fail the whole scrape
		}
		seen[l.Consumer] = true
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(l.Pending), l.Consumer)
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(l.InFlight), l.Consumer)
	}
}
