package ccloud

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxWait caps every wait parsed from upstream headers, so a garbled or
// hostile value cannot park the fleet for longer than a day.
const MaxWait = 24 * time.Hour

// Header names used by Confluent Cloud.
const (
	HeaderRequestID          = "X-Request-Id"
	HeaderRateLimitLimit     = "X-RateLimit-Limit"
	HeaderRateLimitRemaining = "X-RateLimit-Remaining"
	HeaderRateLimitReset     = "X-RateLimit-Reset"
	HeaderRetryAfter         = "Retry-After"
)

// RateLimit is the rate-limit state reported by one upstream response.
// Each value has a Has flag; a missing or malformed header leaves both the
// value and its flag zero. Durations are never negative.
type RateLimit struct {
	// Limit is X-RateLimit-Limit: requests permitted per window.
	Limit int
	// Remaining is X-RateLimit-Remaining: requests left in the window.
	Remaining int
	// HasLimit and HasRemaining report whether the headers were present and valid.
	HasLimit, HasRemaining bool
	// Reset is X-RateLimit-Reset, a RELATIVE number of seconds until the
	// window resets (not an epoch), capped at MaxWait.
	Reset time.Duration
	// HasReset reports whether X-RateLimit-Reset was present and valid.
	HasReset bool
	// RetryAfter is Retry-After (seconds or an HTTP-date relative to the
	// client's clock), capped at MaxWait.
	RetryAfter time.Duration
	// HasRetryAfter reports whether Retry-After was present and valid.
	HasRetryAfter bool
}

// ParseRateLimit parses the rate-limit headers of h. Malformed values are
// treated as absent; it never panics and never yields negative values.
func ParseRateLimit(h http.Header, now time.Time) RateLimit {
	var rl RateLimit
	rl.Limit, rl.HasLimit = parseCount(h.Get(HeaderRateLimitLimit))
	rl.Remaining, rl.HasRemaining = parseCount(h.Get(HeaderRateLimitRemaining))
	rl.Reset, rl.HasReset = parseSeconds(h.Get(HeaderRateLimitReset))
	rl.RetryAfter, rl.HasRetryAfter = ParseRetryAfter(h.Get(HeaderRetryAfter), now)
	return rl
}

// ParseRetryAfter parses a Retry-After value: delay-seconds ("120") or an
// HTTP-date, which is taken relative to now. ok is false when v is absent or
// invalid. A date in the past yields (0, true). Values are capped at MaxWait.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	return min(d, MaxWait), true
}

// parseCount parses a non-negative decimal integer header value.
func parseCount(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if !allDigits(v) {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil { // overflow
		return 0, false
	}
	return n, true
}

// parseSeconds parses a non-negative decimal number of seconds, capped at
// MaxWait. Digits-only values too large to represent are capped too.
func parseSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if !allDigits(v) {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > int64(MaxWait/time.Second) {
		// Only overflow can fail here: v is a non-empty run of digits.
		return MaxWait, true
	}
	return time.Duration(n) * time.Second, true
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rateLimitWait is how long a 429 asks to wait: Retry-After, else
// X-RateLimit-Reset, else 0 meaning unknown.
func rateLimitWait(rl RateLimit) time.Duration {
	switch {
	case rl.HasRetryAfter:
		return rl.RetryAfter
	case rl.HasReset:
		return rl.Reset
	default:
		return 0
	}
}
