package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

// BenchmarkBurstWithSlowDestination measures how long a burst of result
// events takes to reach Jira while every webhook callback of the same burst
// takes 10 s (the receiver is slow), next to a run where the webhook is fast.
// One iteration is one burst of 100 events; run it with -benchtime 1x:
//
//	go test ./internal/notify -run '^$' -bench BurstWithSlowDestination -benchtime 1x
func BenchmarkBurstWithSlowDestination(b *testing.B) {
	for _, slow := range []time.Duration{0, 10 * time.Second} {
		name := "webhook=fast"
		if slow > 0 {
			name = "webhook=10s"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				burst(b, slow)
			}
		})
	}
}

func burst(b *testing.B, slow time.Duration) {
	const n = 100
	cfg := testConfig()
	cfg.Concurrency = 16
	cfg.CallTimeout = 15 * time.Second
	cfg.AckWait = 20 * time.Second
	bd := newBundle(b, cfg)
	bd.recv.SetDelay(slow)
	stop := bd.start(nil)
	sent := map[string]time.Time{}
	for range n {
		at := time.Now()
		ev, _ := bd.publish("ops", "OPS-1", change.StateSucceeded)
		sent[ev.ID] = at
	}
	testkit.Eventually(b, 60*time.Second, "every Jira comment", func() (bool, string) {
		return len(bd.jira.Comments()) == n, ""
	})
	var lat []time.Duration
	for _, c := range bd.jira.Comments() {
		lat = append(lat, c.At.Sub(sent[c.EventID]))
	}
	callbacks := len(bd.recv.Callbacks())
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Milliseconds()), "jira-p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Milliseconds()), "jira-p99-ms")
	b.ReportMetric(float64(lat[n-1].Milliseconds()), "jira-max-ms")
	b.ReportMetric(float64(callbacks), "callbacks-done-by-then")
	stop()
}
