// Package benchrun holds the load generation and measurement code shared by
// Patchbay's benchmarks (internal/app/bench_test.go) and the
// process-level benchmark driver (bench/cmd/patchbay-bench): closed-loop and
// open-loop (paced) load, latency percentiles, an intake HTTP client, a raw
// JetStream publisher of the same change messages the intake writes, a
// watcher of terminal result events, and peak memory from /proc.
package benchrun

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Latencies collects durations from many goroutines.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Summary is the distribution of recorded latencies.
type Summary struct {
	N             int
	P50, P99, Max time.Duration
	Mean          time.Duration
}

// Summary sorts a copy of the samples and returns percentiles (nearest rank).
func (l *Latencies) Summary() Summary {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Summary{
		N: len(d), P50: percentile(d, 50), P99: percentile(d, 99), Max: d[len(d)-1],
		Mean: sum / time.Duration(len(d)),
	}
}

// percentile of sorted samples by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ms converts a duration to (fractional) milliseconds, for reports.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String renders the summary as "p50 1.23 ms, p99 4.56 ms, max 7.89 ms (n=1000)".
func (s Summary) String() string {
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.2f ms (n=%d)", Ms(s.P50), Ms(s.P99), Ms(s.Max), s.N)
}
