package gate

import (
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// learn folds one response into the state; changed is false when nothing
// worth a write happened (the common case, kept cheap).
func learn(s State, status int, rl ccloud.RateLimit, now time.Time, defaultWait time.Duration) (State, bool) {
	next := s
	if status == 429 {
		wait := defaultWait
		switch {
		case rl.HasRetryAfter:
			wait = rl.RetryAfter
		case rl.HasReset:
			wait = rl.Reset
		}
		if until := now.Add(wait); until.After(next.BlockedUntil) {
			next.BlockedUntil = until
		}
	}
	hasLimits := rl.HasLimit && rl.Limit > 0
	switch {
	case hasLimits:
		period := s.Period
		if rl.HasReset && rl.Reset > period {
			period = rl.Reset
		}
		if period <= 0 {
			period = time.Second
		}
		next.Learned, next.Unlimited, next.Limit, next.Period = true, false, rl.Limit, period
	case status < 300 && !rl.HasLimit && !rl.HasRemaining:
		next.Learned, next.Unlimited = true, true
	}
	if rl.HasRemaining {
		if hasLimits && rl.Remaining == rl.Limit-1 {
			// First request of a window; the window began no later than now.
			next.WindowStart = now
		}
		if rl.Remaining == 0 && rl.HasReset {
			until := now.Add(rl.Reset)
			// Reset is in whole seconds (rounded up); when the window's
			// start is known, its end is known more precisely.
			if end := next.WindowStart.Add(next.Period + windowSlack); !next.WindowStart.IsZero() && end.After(now) && end.Before(until) {
				until = end
			}
			if until.After(next.BlockedUntil) {
				next.BlockedUntil = until
			}
		}
	}
	changed := next.BlockedUntil != s.BlockedUntil || next.Learned != s.Learned || next.Unlimited != s.Unlimited ||
		next.Limit != s.Limit || next.Period != s.Period || next.WindowStart != s.WindowStart
	return next, changed
}
