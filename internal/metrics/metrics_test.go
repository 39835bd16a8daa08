package metrics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/metrics"
)

var clock = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return clock }

func TestQueueCollector(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source metrics.QueueSource
		want   string
	}{
		{
			name: "lanes, backlog and oldest age",
			source: func(context.Context) (metrics.QueueStats, error) {
				return metrics.QueueStats{Changes: 7, Oldest: clock.Add(-90 * time.Second), Lanes: []metrics.LaneStats{
					{Consumer: "part-0", Pending: 5, InFlight: 1},
					{Consumer: "part-1", Pending: 0, InFlight: 1},
					{Consumer: "part-1", Pending: 9, InFlight: 9}, // a duplicate is dropped, not a failed scrape
				}}, nil
			},
			want: `
# HELP patchbay_queue_backlog_changes Changes in the work queue (waiting, in flight or waiting for a retry).
# TYPE patchbay_queue_backlog_changes gauge
patchbay_queue_backlog_changes 7
# HELP patchbay_queue_in_flight_changes Changes delivered to a worker and not yet acknowledged (including those handed back with a delay), by consumer.
# TYPE patchbay_queue_in_flight_changes gauge
patchbay_queue_in_flight_changes{consumer="part-0"} 1
patchbay_queue_in_flight_changes{consumer="part-1"} 1
# HELP patchbay_queue_oldest_change_age_seconds Age of the oldest change still in the work queue; 0 when it is empty.
# TYPE patchbay_queue_oldest_change_age_seconds gauge
patchbay_queue_oldest_change_age_seconds 90
# HELP patchbay_queue_pending_changes Changes waiting to be delivered, by consumer.
# TYPE patchbay_queue_pending_changes gauge
patchbay_queue_pending_changes{consumer="part-0"} 5
patchbay_queue_pending_changes{consumer="part-1"} 0
# HELP patchbay_queue_stats_up 1 if the queue statistics were read from JetStream at this scrape, else 0 (and no other queue series).
# TYPE patchbay_queue_stats_up gauge
patchbay_queue_stats_up 1
`,
		},
		{
			name: "empty queue has age 0",
			source: func(context.Context) (metrics.QueueStats, error) {
				return metrics.QueueStats{Oldest: clock.Add(-time.Hour)}, nil
			},
			want: `
# HELP patchbay_queue_backlog_changes Changes in the work queue (waiting, in flight or waiting for a retry).
# TYPE patchbay_queue_backlog_changes gauge
patchbay_queue_backlog_changes 0
# HELP patchbay_queue_oldest_change_age_seconds Age of the oldest change still in the work queue; 0 when it is empty.
# TYPE patchbay_queue_oldest_change_age_seconds gauge
patchbay_queue_oldest_change_age_seconds 0
# HELP patchbay_queue_stats_up 1 if the queue statistics were read from JetStream at this scrape, else 0 (and no other queue series).
# TYPE patchbay_queue_stats_up gauge
patchbay_queue_stats_up 1
`,
		},
		{
			name: "JetStream unavailable",
			source: func(ctx context.Context) (metrics.QueueStats, error) {
				if _, ok := ctx.Deadline(); !ok {
					return metrics.QueueStats{}, errors.New("no deadline")
				}
				return metrics.QueueStats{Changes: 3}, errors.New("nats: no responders")
			},
			want: `
# HELP patchbay_queue_stats_up 1 if the queue statistics were read from JetStream at this scrape, else 0 (and no other queue series).
# TYPE patchbay_queue_stats_up gauge
patchbay_queue_stats_up 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewPedanticRegistry()
			if err := metrics.NewQueue(reg, tt.source, now, time.Second); err != nil {
				t.Fatal(err)
			}
			assertExposition(t, reg, tt.want)
		})
	}
}

func TestQueueCollectorHonoursTimeout(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	blocking := func(ctx context.Context) (metrics.QueueStats, error) {
		<-ctx.Done()
		return metrics.QueueStats{}, ctx.Err()
	}
	if err := metrics.NewQueue(reg, blocking, now, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	assertExposition(t, reg, `
# HELP patchbay_queue_stats_up 1 if the queue statistics were read from JetStream at this scrape, else 0 (and no other queue series).
# TYPE patchbay_queue_stats_up gauge
patchbay_queue_stats_up 0
`)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("scrape took %s", d)
	}
}

func TestGateClosed(t *testing.T) {
	t.Parallel()
	for _, closed := range []bool{false, true} {
		reg := prometheus.NewPedanticRegistry()
		if err := metrics.NewGateClosed(reg, func() bool { return closed }); err != nil {
			t.Fatal(err)
		}
		want := "0"
		if closed {
			want = "1"
		}
		exp := `
# HELP patchbay_ratelimit_gate_closed 1 while the fleet-wide rate-limit gate is closed (Retry-After or an exhausted window), else 0.
# TYPE patchbay_ratelimit_gate_closed gauge
patchbay_ratelimit_gate_closed ` + want + "\n"
		assertExposition(t, reg, exp)
	}
}

func TestWorkerPresetAndRemaining(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewWorker(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Not exported before any response carried X-RateLimit-Remaining.
	if text := exposition(t, reg, "patchbay_ratelimit_remaining_requests"); text != "" {
		t.Fatalf("remaining exported before it was seen: %s", text)
	}
	m.Preset([]string{"op.a", "op.b"}, []string{"rate_limited"})
	m.SetRateLimitRemaining(17)
	exp := `
# HELP patchbay_changes_completed_total Changes that reached a terminal state, by operation and outcome (succeeded, failed).
# TYPE patchbay_changes_completed_total counter
patchbay_changes_completed_total{operation="op.a",outcome="failed"} 0
patchbay_changes_completed_total{operation="op.a",outcome="succeeded"} 0
patchbay_changes_completed_total{operation="op.b",outcome="failed"} 0
patchbay_changes_completed_total{operation="op.b",outcome="succeeded"} 0
# HELP patchbay_ratelimit_remaining_requests Last X-RateLimit-Remaining the upstream reported to this worker (requests left in the window).
# TYPE patchbay_ratelimit_remaining_requests gauge
patchbay_ratelimit_remaining_requests 17
# HELP patchbay_retries_total Changes handed back for a later attempt, by reason.
# TYPE patchbay_retries_total counter
patchbay_retries_total{reason="rate_limited"} 0
`
	assertExposition(t, reg, exp, "patchbay_changes_completed_total", "patchbay_ratelimit_remaining_requests", "patchbay_retries_total")
}

func TestIntakePreset(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewIntake(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Preset([]string{"op.a"})
	exp := `
# HELP patchbay_changes_accepted_total Changes accepted (202, durable in JetStream) by operation.
# TYPE patchbay_changes_accepted_total counter
patchbay_changes_accepted_total{operation="op.a"} 0
`
	assertExposition(t, reg, exp, "patchbay_changes_accepted_total")
}

func TestConstructorsRefuseBadInput(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) (metrics.QueueStats, error) { return metrics.QueueStats{}, nil }
	tests := []struct {
		name string
		call func() error
	}{
		{"intake nil registerer", func() error { _, err := metrics.NewIntake(nil); return err }},
		{"worker nil registerer", func() error { _, err := metrics.NewWorker(nil); return err }},
		{"gate nil view", func() error { return metrics.NewGateClosed(prometheus.NewRegistry(), nil) }},
		{"queue nil source", func() error { return metrics.NewQueue(prometheus.NewRegistry(), nil, now, time.Second) }},
		{"queue no timeout", func() error { return metrics.NewQueue(prometheus.NewRegistry(), ok, now, 0) }},
		{"worker registered twice", func() error {
			reg := prometheus.NewRegistry()
			if _, err := metrics.NewWorker(reg); err != nil {
				return nil
			}
			_, err := metrics.NewWorker(reg)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.call(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
