package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/retry"
)

var accepted = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// backoffTable is a deterministic Backoff: attempt n waits n seconds plus 1ms,
// so a test can tell which n the policy asked for.
func backoffTable(n int) time.Duration { return time.Duration(n)*time.Second + time.Millisecond }

func policy() retry.Policy {
	return retry.Policy{
		MaxErrorAttempts:     5,
		MaxAge:               time.Hour,
		MaxRateLimitWait:     2 * time.Minute,
		DefaultRateLimitWait: 7 * time.Second,
		Backoff:              backoffTable,
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := accepted.Add(10 * time.Minute)
	young := retry.History{ErrorAttempts: 1, AcceptedAt: accepted}
	tests := []struct {
		name   string
		policy func(*retry.Policy)
		err    error
		h      retry.History
		now    time.Time
		want   retry.Decision
	}{
		{name: "success", err: nil, h: young, now: now, want: retry.Decision{Outcome: retry.Succeed}},
		{
			name: "success even past every budget", err: nil,
			h: retry.History{ErrorAttempts: 99, AcceptedAt: accepted}, now: accepted.Add(100 * time.Hour),
			want: retry.Decision{Outcome: retry.Succeed},
		},
		{
			name: "permanent fails at once", err: &ccloud.PermanentError{Status: 404}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Fail},
		},
		{
			name: "wrapped permanent fails at once", err: fmt.Errorf("apply: %w", &ccloud.PermanentError{Status: 422}), h: young, now: now,
			want: retry.Decision{Outcome: retry.Fail},
		},
		{
			name: "unclassified error fails", err: errors.New("boom"), h: young, now: now,
			want: retry.Decision{Outcome: retry.Fail},
		},
		{
			name: "429 waits exactly Retry-After", err: &ccloud.RateLimitedError{Wait: 5 * time.Second}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 5 * time.Second, Reason: retry.ReasonRateLimited},
		},
		{
			name: "wrapped 429", err: fmt.Errorf("call: %w", &ccloud.RateLimitedError{Wait: 1500 * time.Millisecond}), h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 1500 * time.Millisecond, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 without wait uses the default", err: &ccloud.RateLimitedError{}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 7 * time.Second, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 with negative wait uses the default", err: &ccloud.RateLimitedError{Wait: -time.Second}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 7 * time.Second, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 wait capped", err: &ccloud.RateLimitedError{Wait: time.Hour}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 2 * time.Minute, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 wait at the cap is kept", err: &ccloud.RateLimitedError{Wait: 2 * time.Minute}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 2 * time.Minute, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 default is capped too", policy: func(p *retry.Policy) { p.DefaultRateLimitWait = 10 * time.Minute },
			err: &ccloud.RateLimitedError{}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 2 * time.Minute, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 uncapped when MaxRateLimitWait is 0", policy: func(p *retry.Policy) { p.MaxRateLimitWait = 0 },
			err: &ccloud.RateLimitedError{Wait: 30 * time.Minute}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: 30 * time.Minute, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 does not consume the attempt budget", err: &ccloud.RateLimitedError{Wait: time.Second},
			h: retry.History{ErrorAttempts: 5, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: time.Second, Reason: retry.ReasonRateLimited},
		},
		{
			name: "429 does not consume the attempt budget even far beyond it", err: &ccloud.RateLimitedError{Wait: time.Second},
			h: retry.History{ErrorAttempts: 500, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: time.Second, Reason: retry.ReasonRateLimited},
		},
		{
			name: "retryable uses Backoff(1)", err: &ccloud.RetryableError{Status: 503}, h: young, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: backoffTable(1), Reason: retry.ReasonUpstreamError},
		},
		{
			name: "wrapped retryable uses Backoff(n)", err: fmt.Errorf("x: %w", &ccloud.RetryableError{Err: context.DeadlineExceeded}),
			h: retry.History{ErrorAttempts: 4, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: backoffTable(4), Reason: retry.ReasonUpstreamError},
		},
		{
			name: "attempt budget reached", err: &ccloud.RetryableError{Status: 503},
			h: retry.History{ErrorAttempts: 5, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAttempts},
		},
		{
			name: "attempt budget exceeded", err: &ccloud.RetryableError{Status: 502},
			h: retry.History{ErrorAttempts: 6, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAttempts},
		},
		{
			name: "no attempt budget when MaxErrorAttempts is 0", policy: func(p *retry.Policy) { p.MaxErrorAttempts = 0 },
			err: &ccloud.RetryableError{Status: 503}, h: retry.History{ErrorAttempts: 50, AcceptedAt: accepted}, now: now,
			want: retry.Decision{Outcome: retry.Retry, Wait: backoffTable(50), Reason: retry.ReasonUpstreamError},
		},
		{
			name: "age budget: backoff would end beyond MaxAge", err: &ccloud.RetryableError{Status: 503},
			h: young, now: accepted.Add(time.Hour - time.Second),
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAge},
		},
		{
			name: "age budget: wait ending exactly at MaxAge is allowed", err: &ccloud.RateLimitedError{Wait: time.Minute},
			h: young, now: accepted.Add(59 * time.Minute),
			want: retry.Decision{Outcome: retry.Retry, Wait: time.Minute, Reason: retry.ReasonRateLimited},
		},
		{
			name: "age budget: 429 wait one nanosecond too long", err: &ccloud.RateLimitedError{Wait: time.Minute + time.Nanosecond},
			h: young, now: accepted.Add(59 * time.Minute),
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAge},
		},
		{
			name: "age budget: already too old", err: &ccloud.RateLimitedError{Wait: time.Second},
			h: young, now: accepted.Add(2 * time.Hour),
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAge},
		},
		{
			name: "attempt budget checked before age", err: &ccloud.RetryableError{Status: 503},
			h: retry.History{ErrorAttempts: 5, AcceptedAt: accepted}, now: accepted.Add(2 * time.Hour),
			want: retry.Decision{Outcome: retry.Fail, GaveUp: retry.GaveUpAttempts},
		},
		{
			name: "no age budget when MaxAge is 0", policy: func(p *retry.Policy) { p.MaxAge = 0 },
			err: &ccloud.RetryableError{Status: 503}, h: young, now: accepted.Add(1000 * time.Hour),
			want: retry.Decision{Outcome: retry.Retry, Wait: backoffTable(1), Reason: retry.ReasonUpstreamError},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := policy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			if got := p.Decide(tt.err, tt.h, tt.now); got != tt.want {
				t.Fatalf("Decide(%v) = %+v, want %+v", tt.err, got, tt.want)
			}
		})
	}
}

func TestFullJitterExtremes(t *testing.T) {
	t.Parallel()
	const base, max = 100 * time.Millisecond, 10 * time.Second
	tests := []struct {
		name string
		n    int
		rnd  float64
		ceil time.Duration // min(max, base*2^(n-1))
	}{
		{name: "n=1 rnd=0", n: 1, rnd: 0, ceil: base},
		{name: "n=1 rnd=0.999", n: 1, rnd: 0.999, ceil: base},
		{name: "n=0 treated as 1", n: 0, rnd: 0.999, ceil: base},
		{name: "negative n treated as 1", n: -3, rnd: 0.999, ceil: base},
		{name: "n=2", n: 2, rnd: 0.999, ceil: 200 * time.Millisecond},
		{name: "n=5", n: 5, rnd: 0.999, ceil: 1600 * time.Millisecond},
		{name: "n=7 (6.4s)", n: 7, rnd: 0.999, ceil: 6400 * time.Millisecond},
		{name: "n=8 capped", n: 8, rnd: 0.999, ceil: max},
		{name: "n=60 capped", n: 60, rnd: 0.999, ceil: max},
		{name: "n=64 capped", n: 64, rnd: 0.999, ceil: max},
		{name: "n=2000 (2^n is +Inf) capped", n: 2000, rnd: 0.999, ceil: max},
		{name: "n=MaxInt capped", n: math.MaxInt, rnd: 0.999, ceil: max},
		{name: "n=MaxInt rnd=0", n: math.MaxInt, rnd: 0, ceil: max},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := retry.FullJitter(base, max, func() float64 { return tt.rnd })
			got := b(tt.n)
			if tt.rnd == 0 {
				if got != 0 {
					t.Fatalf("Backoff(%d) with rnd 0 = %v, want 0", tt.n, got)
				}
				return
			}
			if got >= tt.ceil {
				t.Fatalf("Backoff(%d) = %v, want below %v", tt.n, got, tt.ceil)
			}
			if lo := tt.ceil * 998 / 1000; got < lo {
				t.Fatalf("Backoff(%d) = %v, want just under %v (at least %v)", tt.n, got, tt.ceil, lo)
			}
		})
	}
}

func TestFullJitterBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		base, max time.Duration
	}{
		{name: "typical", base: 250 * time.Millisecond, max: 30 * time.Second},
		{name: "base above max", base: time.Minute, max: time.Second},
		{name: "large max", base: time.Second, max: 1000 * time.Hour},
		{name: "max near MaxInt64/2", base: time.Nanosecond, max: time.Duration(math.MaxInt64 / 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			b := retry.FullJitter(tt.base, tt.max, r.Float64)
			var nonZero int
			for n := -2; n <= 2000; n++ {
				for range 5 {
					got := b(n)
					ceil := tt.max
					if k := max(n, 1) - 1; k < 62 && tt.base<<k/(1<<k) == tt.base && tt.base<<k < tt.max {
						ceil = tt.base << k
					}
					if got < 0 || got >= ceil {
						t.Fatalf("Backoff(%d) = %v, want in [0, %v)", n, got, ceil)
					}
					if got > 0 {
						nonZero++
					}
				}
			}
			if nonZero == 0 {
				t.Fatal("backoff never waited: jitter ignores rnd")
			}
		})
	}
}

func TestFullJitterSpreadsWaits(t *testing.T) {
	t.Parallel()
	// With a real (seeded) random source, waits for the same n differ and
	// cover the interval rather than sitting at one end.
	r := rand.New(rand.NewPCG(42, 7))
	b := retry.FullJitter(time.Second, time.Minute, r.Float64)
	const n, samples = 4, 2000 // ceiling 8s
	var below, above int
	seen := map[time.Duration]bool{}
	for range samples {
		d := b(n)
		seen[d] = true
		if d < 4*time.Second {
			below++
		} else {
			above++
		}
	}
	if len(seen) < samples/2 {
		t.Fatalf("only %d distinct waits in %d samples", len(seen), samples)
	}
	if below < samples/3 || above < samples/3 {
		t.Fatalf("waits not spread over [0, 8s): %d below 4s, %d above", below, above)
	}
}
