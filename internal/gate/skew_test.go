package gate_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/testkit"
)

const (
	simKey    = "KEY1"
	simSecret = "s3cr3t-basic-password"
)

// After a 429 seen by one worker, no worker sends before the Retry-After
// has elapsed as the simulator sees it, whatever the workers' clocks say;
// and a worker whose clock is slow does not wait longer than needed.
func TestRetryAfterHoldsWhateverTheClocksSay(t *testing.T) {
	cases := []struct {
		name            string
		observer, other time.Duration // clock offsets
		stepOther       time.Duration // the other's clock is stepped by this after the 429
	}{
		{name: "other worker 3 s fast", other: 3 * time.Second},
		{name: "other worker 3 s slow", other: -3 * time.Second},
		{name: "observer 3 s fast", observer: 3 * time.Second},
		{name: "observer 3 s slow, other 3 s fast", observer: -3 * time.Second, other: 3 * time.Second},
		{name: "other worker stepped 3 s ahead during the wait", stepOther: 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(t)
			sim, ts := testkit.CCloudSim(t, ccloudsim.Options{RateLimit: 3, RatePeriod: 2 * time.Second,
				Credentials: map[string]string{simKey: simSecret}})
			sim.SeedDemo()
			obsClock, othClock := clocktest.NewSkewed(c.observer), clocktest.NewSkewed(c.other)
			creds := ccloud.Config{APIKey: simKey, APISecret: simSecret}
			observer := newWorker(t, f.gate(gate.DefaultConfig(), obsClock.Now), ts.URL, creds, obsClock.Now)
			other := newWorker(t, f.gate(gate.DefaultConfig(), othClock.Now), ts.URL, creds, othClock.Now)
			ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
			defer cancel()

			exhaust(t, ts.URL, simKey, simSecret)
			resp, err := observer.send(ctx, 1)
			if err != nil || resp.Status != http.StatusTooManyRequests || !resp.RateLimit.HasRetryAfter {
				t.Fatalf("observer: %+v %v, want a 429 with Retry-After", resp, err)
			}
			cred := other.up.CredentialID()
			testkit.Eventually(t, 5*time.Second, "the other gate sees the block", func() (bool, string) {
				return !other.g.Blocked(cred).IsZero(), "open"
			})
			othClock.Step(c.stepOther)
			for i := range 3 {
				if resp, err := other.send(ctx, 2+i); err != nil || resp.Status != http.StatusOK {
					t.Fatalf("other worker, change %d: %+v %v", i, resp, err)
				}
			}

			if v := sim.Violations(); v != 0 {
				t.Fatalf("%d requests reached the simulator during its Retry-After", v)
			}
			r429 := first429(t, sim)
			reqs := sim.Requests()
			var next ccloudsim.Request
			for _, r := range reqs {
				if r.Start.After(r429.Start) {
					next = r
					break
				}
			}
			until := r429.Start.Add(resp.RateLimit.RetryAfter)
			if next.Start.Before(until) {
				t.Fatalf("next request %v before the Retry-After ended", until.Sub(next.Start))
			}
			if late := next.Start.Sub(until); late > time.Second {
				t.Fatalf("next request %v after the Retry-After ended: waited on a clock", late)
			}
		})
	}
}
