// Package retry decides what happens after an upstream call: done, failed, or
// tried again after a wait. It is made of small injectable pieces: a Backoff
// function type, a Policy, and an explicit clock reading passed in.
package retry

import (
	"errors"
	"math"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Backoff returns the wait before error attempt n+1, given that n error
// attempts (n >= 1) have failed.
type Backoff func(n int) time.Duration

// FullJitter is capped exponential backoff with full jitter: a uniform wait in
// [0, min(max, base*2^(n-1))). rnd returns a float in [0,1).
func FullJitter(base, max time.Duration, rnd func() float64) Backoff {
	return func(n int) time.Duration {
		if n < 1 {
			n = 1
		}
		ceil := float64(base) * math.Pow(2, float64(n-1))
		if ceil > float64(max) || math.IsInf(ceil, 0) {
			ceil = float64(max)
		}
		return time.Duration(rnd() * ceil)
	}
}

// Outcome is what to do with a change after an attempt.
type Outcome int

// Outcomes.
const (
	Succeed Outcome = iota + 1
	Fail
	Retry
)

// Reasons recorded on the change.
const (
	ReasonRateLimited   = "rate_limited"
	ReasonUpstreamError = "upstream_error"
	GaveUpAttempts      = "max_attempts_exceeded"
	GaveUpAge           = "max_age_exceeded"
)

// Decision is the policy's verdict.
type Decision struct {
	Outcome Outcome
	// Wait before the next attempt (Retry only).
	Wait time.Duration
	// Reason for a retry (ReasonRateLimited, ReasonUpstreamError).
	Reason string
	// GaveUp says why a retryable error failed the change (GaveUpAttempts, GaveUpAge).
	GaveUp string
}

// History is what the policy needs to know about a change.
type History struct {
	// ErrorAttempts counts attempts that failed with a retryable error,
	// including the one being decided; rate-limited attempts do not count.
	ErrorAttempts int
	AcceptedAt    time.Time
}

// Policy holds the budgets and the backoff.
type Policy struct {
	MaxErrorAttempts int
	MaxAge           time.Duration
	// MaxRateLimitWait caps a Retry-After; DefaultRateLimitWait is used when
	// a 429 names no wait at all.
	MaxRateLimitWait     time.Duration
	DefaultRateLimitWait time.Duration
	Backoff              Backoff
}

// Decide classifies err (nil for success) from the client.
func (p Policy) Decide(err error, h History, now time.Time) Decision {
	if err == nil {
		return Decision{Outcome: Succeed}
	}
	var rl *ccloud.RateLimitedError
	var re *ccloud.RetryableError
	var d Decision
	switch {
	case errors.As(err, &rl):
		wait := rl.Wait
		if wait <= 0 {
			wait = p.DefaultRateLimitWait
		}
		if p.MaxRateLimitWait > 0 && wait > p.MaxRateLimitWait {
			wait = p.MaxRateLimitWait
		}
		d = Decision{Outcome: Retry, Wait: wait, Reason: ReasonRateLimited}
	case errors.As(err, &re):
		if p.MaxErrorAttempts > 0 && h.ErrorAttempts >= p.MaxErrorAttempts {
			return Decision{Outcome: Fail, GaveUp: GaveUpAttempts}
		}
		d = Decision{Outcome: Retry, Wait: p.Backoff(h.ErrorAttempts), Reason: ReasonUpstreamError}
	default:
		return Decision{Outcome: Fail}
	}
	if p.MaxAge > 0 && now.Add(d.Wait).Sub(h.AcceptedAt) > p.MaxAge {
		return Decision{Outcome: Fail, GaveUp: GaveUpAge}
	}
	return d
}
