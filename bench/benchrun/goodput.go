package benchrun

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// Goodput is one run of the goodput-under-a-rate-limit benchmark: n changes
// applied to a simulator limited to Limit requests per second, either through
// Patchbay or straight from a baseline client.
type Goodput struct {
	// Limit is the simulator's limit in requests per second.
	Limit int
	// Changes is the number of changes of the run.
	Changes int
	// Start is when the first change was submitted; Successes and
	// Elapsed are relative to it.
	Start time.Time
	// Succeeded, Failed and Unfinished count the changes by outcome:
	// Failed is a failed change (Patchbay) or one the client gave up on
	// (baseline); Unfinished had no outcome when the run's time ran out.
	Succeeded, Failed, Unfinished int
	// FirstErr is the first failure, for the report.
	FirstErr error
	// Upstream is what the simulator counted.
	Upstream ccloudsim.Stats
	// Successes are the arrival times at the simulator of the successful
	// PATCHes, relative to the start of the run, sorted.
	Successes []time.Duration
	// Elapsed is from the first change submitted to the last outcome.
	Elapsed time.Duration
	// TimedOut says the run was cut off by its time limit.
	TimedOut bool
	// Allowed, when the limit changed during the run, is how many requests
	// the changing limit allowed between the first and the last success
	// (ccloudsim.Server.Allowed); 0 for a fixed limit.
	Allowed float64
	// AllowedBetween, when the limit changed, is how many requests it
	// allowed between two times relative to Start (for the other ratios).
	AllowedBetween func(from, to time.Duration) float64 `json:"-"`
}

// OK is the number of successful upstream PATCHes.
func (g Goodput) OK() int { return len(g.Successes) }

// SteadyRate is successful PATCHes per second between the first and the
// last success (no warm-up, no tail): (n-1) intervals over their span.
func (g Goodput) SteadyRate() float64 { return SteadyRate(g.Successes) }

// MiddleRate is successful PATCHes per second between the 10th and the
// 90th percentile of their times (the learned pace, without start-up and tail).
func (g Goodput) MiddleRate() float64 { return MiddleRate(g.Successes) }

// OverallRate is successful PATCHes per second over the whole run (wall
// clock, from the first change submitted to the last outcome).
func (g Goodput) OverallRate() float64 {
	if g.Elapsed <= 0 {
		return 0
	}
	return float64(g.OK()) / g.Elapsed.Seconds()
}

// SteadyRatio is SteadyRate divided by the limit; under a changing limit,
// the successes after the first divided by what the limit allowed between
// the first and the last.
func (g Goodput) SteadyRatio() float64 {
	if g.Allowed > 0 {
		if g.OK() < 2 {
			return 0
		}
		return float64(g.OK()-1) / g.Allowed
	}
	return ratio(g.SteadyRate(), float64(g.Limit))
}

// OverallRatio is OverallRate divided by the limit (under a changing
// limit: successes over what it allowed during the run).
func (g Goodput) OverallRatio() float64 {
	if g.AllowedBetween != nil {
		return ratio(float64(g.OK()), g.AllowedBetween(0, g.Elapsed))
	}
	return ratio(g.OverallRate(), float64(g.Limit))
}

// MiddleRatio is MiddleRate divided by the limit (under a changing limit:
// the successes between the 10th and 90th percentile over what it allowed
// between them).
func (g Goodput) MiddleRatio() float64 {
	if g.AllowedBetween != nil {
		lo, hi := len(g.Successes)/10, min(len(g.Successes)*9/10, len(g.Successes)-1)
		if hi <= lo || g.Successes[hi]-g.Successes[lo] < MinSpan {
			return 0
		}
		return ratio(float64(hi-lo), g.AllowedBetween(g.Successes[lo], g.Successes[hi]))
	}
	return ratio(g.MiddleRate(), float64(g.Limit))
}

// Share429 is the share of 429s among the upstream requests.
func (g Goodput) Share429() float64 {
	return ratio(float64(g.Upstream.ByStatus[http.StatusTooManyRequests]), float64(g.Upstream.Total))
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// MinSpan is the shortest span of events SteadyRate and MiddleRate give a
// rate for: a few successes in one burst say nothing about a sustained rate.
const MinSpan = 2 * time.Second

// SteadyRate is the rate of sorted event times between the first and the
// last: (n-1)/(last-first); 0 with fewer than two events or a span shorter
// than MinSpan.
func SteadyRate(at []time.Duration) float64 {
	if len(at) < 2 {
		return 0
	}
	return rateBetween(at, 0, len(at)-1)
}

// MiddleRate is the rate of sorted event times between the 10th and the
// 90th percentile: the sustained rate without start-up and tail; 0 when
// undefined (as SteadyRate).
func MiddleRate(at []time.Duration) float64 {
	lo, hi := len(at)/10, len(at)*9/10
	if hi >= len(at) {
		hi = len(at) - 1
	}
	if hi <= lo {
		return 0
	}
	return rateBetween(at, lo, hi)
}

func rateBetween(at []time.Duration, lo, hi int) float64 {
	span := at[hi] - at[lo]
	if span < MinSpan {
		return 0
	}
	return float64(hi-lo) / span.Seconds()
}

// PerSecondCounts counts sorted event times in each whole second from the
// first event, leaving out the last, partial second.
func PerSecondCounts(at []time.Duration) []int {
	if len(at) < 2 {
		return nil
	}
	first := at[0]
	full := int((at[len(at)-1] - first) / time.Second)
	if full < 1 {
		return nil
	}
	counts := make([]int, full)
	for _, t := range at {
		if i := int((t - first) / time.Second); i < full {
			counts[i]++
		}
	}
	return counts
}

// PerSecond returns the smallest, median and largest of PerSecondCounts;
// all zero when the events span less than two whole seconds. It shows
// whether a rate is steady or comes in bursts and stalls.
func PerSecond(at []time.Duration) (lo, median, hi int) {
	counts := slices.Clone(PerSecondCounts(at))
	if len(counts) < 2 {
		return 0, 0, 0
	}
	slices.Sort(counts)
	return counts[0], counts[len(counts)/2], counts[len(counts)-1]
}

// SuccessTimes returns the arrival times, relative to start, of the
// successful (2xx) PATCHes in a simulator request log, sorted.
func SuccessTimes(reqs []ccloudsim.Request, start time.Time) []time.Duration {
	var out []time.Duration
	for _, r := range reqs {
		if r.Method == http.MethodPatch && r.Status >= 200 && r.Status < 300 {
			out = append(out, r.Start.Sub(start))
		}
	}
	slices.Sort(out)
	return out
}

// Baseline is a client that applies changes straight to the upstream the
// way users would without Patchbay: hashicorp/go-retryablehttp with its
// defaults (retryablehttp.NewClient(): RetryMax 4, so 5 attempts;
// DefaultRetryPolicy; DefaultBackoff, which sleeps exactly Retry-After on a
// 429 with no cap and no jitter), Concurrency goroutines each taking the next
// change, HTTP Basic auth.
type Baseline struct {
	BaseURL, Key, Secret string
	Concurrency          int
}

// Run applies n changes (change i renames Resources[i % len] with
// PeeringBody(i)) and returns how they ended. Changes still running when ctx
// ends are Unfinished. The simulator's counters and log are not read here.
func (b Baseline) Run(ctx context.Context, resources []string, n int) Goodput {
	c := retryablehttp.NewClient() // the defaults, as the Confluent provider and CLI use them
	c.Logger = nil                 // its per-request debug lines are noise here, not behaviour
	defer c.HTTPClient.CloseIdleConnections()
	var ok, gaveUp, unfinished atomic.Int64
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	var last atomic.Int64 // nanoseconds since start of the latest outcome
	ClosedLoop(ctx, b.Concurrency, n, func(ctx context.Context, i int) error {
		err := b.patch(ctx, c, resources[i%len(resources)], PeeringBody(i))
		switch {
		case err == nil:
			ok.Add(1)
		case ctx.Err() != nil:
			unfinished.Add(1)
			return nil
		default:
			gaveUp.Add(1)
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
		d := int64(time.Since(start))
		for {
			cur := last.Load()
			if d <= cur || last.CompareAndSwap(cur, d) {
				break
			}
		}
		return nil
	})
	done := int(ok.Load() + gaveUp.Load() + unfinished.Load())
	g := Goodput{
		Start: start, Changes: n, Succeeded: int(ok.Load()), Failed: int(gaveUp.Load()),
		Unfinished: int(unfinished.Load()) + n - done, FirstErr: firstErr,
		Elapsed: time.Duration(last.Load()), TimedOut: ctx.Err() != nil,
	}
	if g.TimedOut {
		g.Elapsed = time.Since(start) // the run's whole time, cut off
	}
	return g
}

// patch sends one Update a Peering through the retrying client; any final
// answer but 2xx, and giving up, are errors.
func (b Baseline) patch(ctx context.Context, c *retryablehttp.Client, id string, body []byte) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPatch, strings.TrimRight(b.BaseURL, "/")+"/networking/v1/peerings/"+id, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(b.Key, b.Secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err // "PATCH ... giving up after 5 attempt(s)"
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("PATCH %s: %d", id, resp.StatusCode)
	}
	return nil
}
