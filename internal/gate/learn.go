package gate

import (
	"net/http"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// learn folds one response, received at server time recv, into the state.
// block is the Retry-After a 429 asks for when it extends the block (0
// otherwise): next.BlockedUntil includes it, and write stores it relative to
// the entry's server timestamp. changed is false when nothing worth a write
// happened (the common case, kept cheap).
func learn(s State, status int, rl ccloud.RateLimit, recv time.Time, defaultWait, grace time.Duration) (next State, block time.Duration, changed bool) {
	next = s
	if status == http.StatusTooManyRequests {
		block = defaultWait
		switch {
		case rl.HasRetryAfter:
			block = rl.RetryAfter
		case rl.HasReset:
			block = rl.Reset
		}
		// Slots reserved before the 429 were planned against a window the
		// upstream no longer honours: they are void too (their holders
		// check Blocked before sending), so that the first request after
		// the block opens a new window that the fleet counts afresh.
		if until := latest(recv.Add(block), s.NextSlot); until.After(next.BlockedUntil) {
			next.BlockedUntil = until
			next.Window, next.Next = Window{}, Window{}
		} else {
			block = 0
		}
	}
	hasLimits := rl.HasLimit && rl.Limit > 0
	switch {
	case hasLimits && s.limited() && rl.Limit > s.Limit && recv.Before(s.Lowered.Add(max(grace, provisionalGuard))):
		// An answer sent before the limit was lowered, overtaken by one
		// sent after: not a raise.
	case hasLimits:
		switch {
		case !s.Learned || rl.Limit > s.Limit:
			// The probe's spacing, or the old limit's, no longer applies:
			// the room a raised limit gives is used at once (the window's
			// count keeps it safe).
			next.NextSlot = time.Time{}
		case rl.Limit < s.Limit:
			// Slots reserved under the higher limit would overrun the
			// window: void them (their holders check Blocked before
			// sending) rather than wait for the 429 they would cause (a
			// 429 voided them above).
			next.BlockedUntil = latest(next.BlockedUntil, s.NextSlot)
			next.Lowered = recv
		}
		next.Learned, next.Unlimited, next.Limit = true, false, rl.Limit
		next.Period = learnPeriod(s.Period, status, rl)
		if status != http.StatusTooManyRequests && rl.HasRemaining {
			next.count(rl, recv, grace)
		}
	case status < 300 && !rl.HasLimit && !rl.HasRemaining:
		next.Learned, next.Unlimited = true, true
	}
	return next, block, !next.equal(s)
}

// learnPeriod follows the window length both ways: the first answer of a
// window says it exactly (Reset rounded up to whole seconds); other answers
// can only show it is longer. A 429's Reset is a Retry-After, not a window.
func learnPeriod(period time.Duration, status int, rl ccloud.RateLimit) time.Duration {
	switch {
	case !rl.HasReset || rl.Reset <= 0 || status == http.StatusTooManyRequests:
		if period <= 0 {
			return time.Second
		}
		return period
	case rl.HasRemaining && rl.Remaining == rl.Limit-1:
		return rl.Reset
	default:
		return max(period, rl.Reset)
	}
}

// count anchors and corrects the window from an answer's Remaining; grace
// is how long after a window's first answer answers may still belong to the
// window before.
func (s *State) count(rl ccloud.RateLimit, recv time.Time, grace time.Duration) {
	used := rl.Limit - rl.Remaining
	w := &s.Window
	if rl.Remaining == rl.Limit-1 { // the first request of an upstream window
		switch {
		case !w.End.IsZero() && w.Anchor.IsZero() && recv.Before(w.Start) && recv.After(w.Start.Add(-s.Period/2)):
			// A request of the window before arrived late and opened the
			// upstream window ours will count in: anchor ours on it, and
			// count it.
			w.Anchor, w.End = recv, recv.Add(s.Period)
			w.Count++
		case !w.End.IsZero() && w.Anchor.IsZero() && !recv.Before(w.Start):
			// Our window's first answer: its end is now known closely.
			w.Anchor, w.End = recv, recv.Add(s.Period)
			w.Count = max(w.Count, used)
		case !w.Anchor.IsZero() && recv.After(w.Anchor.Add(s.Period/2)) && recv.Before(w.End):
			// A late request opened the upstream's next window before
			// ours ended: the fleet will count it there.
			s.Next = Window{Start: recv, Anchor: recv, End: recv.Add(s.Period), Count: 1}
		case w.End.IsZero() || !recv.Before(w.End):
			s.Window = Window{Start: recv, Anchor: recv, End: recv.Add(s.Period), Count: 1}
		}
		return
	}
	if !w.Anchor.IsZero() && !recv.Before(w.Anchor.Add(grace)) && recv.Before(w.End) && used > w.Count {
		// Someone else spends this scope's quota too: count what the
		// upstream counted. (Not in the window's first moments, when a
		// slow answer from the window before may still arrive.)
		w.Count = used
	}
}
