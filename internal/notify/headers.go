package notify

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date,
// relative to now. ok is false when v is empty or malformed; a date in the
// past is a zero wait.
func ParseRetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(maxWait/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return clampWait(t.Sub(now)), true
}

// maxWait bounds any wait a receiver can ask for (the notifier caps it far
// lower, see Config.MaxWait).
const maxWait = 365 * 24 * time.Hour

func clampWait(d time.Duration) time.Duration { return min(max(d, 0), maxWait) }

// rateLimitResetLayouts are the ISO-8601 forms Jira Cloud sends in
// X-RateLimit-Reset ("2024-12-01T12:00Z", with or without seconds).
var rateLimitResetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z0700",
}

// ParseRateLimitReset reads Jira's X-RateLimit-Reset, an ISO-8601 timestamp
// (unlike Confluent's relative seconds), as a wait from now. ok is false when
// v is empty or not a timestamp; a time in the past is a zero wait.
func ParseRateLimitReset(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0, false
	}
	for _, layout := range rateLimitResetLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return clampWait(t.Sub(now)), true
		}
	}
	return 0, false
}

// WaitFromHeaders is the wait a receiver asked for: Retry-After, else an ISO
// X-RateLimit-Reset, else zero (use backoff).
func WaitFromHeaders(h http.Header, now time.Time) time.Duration {
	if w, ok := ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return w
	}
	if w, ok := ParseRateLimitReset(h.Get("X-RateLimit-Reset"), now); ok {
		return w
	}
	return 0
}

// Classify turns a receiver's status into nil (2xx), a *RetryableError
// (408, 425, 429, 5xx; honouring the wait the receiver asked for) or a
// permanent *StatusError.
func Classify(resp *http.Response, now time.Time) error {
	s := resp.StatusCode
	switch {
	case s >= 200 && s < 300:
		return nil
	case s == http.StatusTooManyRequests || s == http.StatusRequestTimeout || s == http.StatusTooEarly || s >= 500:
		return &RetryableError{After: WaitFromHeaders(resp.Header, now), Err: &StatusError{Status: s}}
	default:
		return &StatusError{Status: s}
	}
}

// TransportError classifies an error from http.Client.Do: refusals by the
// outbound policy are permanent (they are wrapped with a Coder by the
// client); everything else (timeouts, connection errors) is retryable.
func TransportError(err error) error {
	var c Coder
	if errors.As(err, &c) {
		return err
	}
	code := "connection_error"
	if errors.Is(err, context.DeadlineExceeded) {
		code = "timeout"
	}
	return &RetryableError{Err: &CodedError{Code: code, Err: err}}
}
