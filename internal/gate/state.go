// Package gate is the fleet-wide rate-limit gate: one JetStream KV key
// per rate-limit scope (by default per upstream credential), updated with
// compare-and-swap by every worker. After a 429 no worker sends before the
// Retry-After has elapsed, whatever the workers' clocks say: every stored
// time is in the NATS server's clock (see clock.go), and a fresh block is
// stored relative to its own entry's server timestamp. The fleet counts its
// requests against the upstream's fixed window, whose end it learns from
// X-RateLimit-Limit/-Remaining/-Reset, so it can use the whole limit,
// follows the limit down and up within a window, and 429s stay rare.
package gate

import (
	"time"
)

// Bucket is the KV bucket of the gate.
const Bucket = "patchbay_ratelimit"

// State is the gate of one scope as stored in KV. Times are the NATS
// server's.
type State struct {
	// BlockedUntil: nobody sends before it (a Retry-After).
	BlockedUntil time.Time `json:"blocked_until_server,omitzero"`
	// BlockFor is a Retry-After written by the worker that received it,
	// relative to this entry's server timestamp (Created), so that it does
	// not depend on that worker's clock; nobody sends before Created +
	// BlockFor. The next writer folds it into BlockedUntil.
	BlockFor time.Duration `json:"block_for,omitempty"`
	// NextSlot is the earliest start of the next request.
	NextSlot time.Time `json:"next_slot_server,omitzero"`
	// Learned is set once a response told whether limits apply.
	Learned bool `json:"learned"`
	// Unlimited: the upstream sends no rate-limit headers for this scope.
	Unlimited bool `json:"unlimited"`
	// Limit and Period describe the upstream window as last reported.
	Limit  int           `json:"limit,omitempty"`
	Period time.Duration `json:"period,omitempty"`
	// Lowered is when an answer last showed a lower limit.
	Lowered time.Time `json:"lowered,omitzero"`
	// Window is the upstream window the fleet currently counts against.
	Window Window `json:"window,omitzero"`
	// Next is an upstream window that began before Window ended (a request
	// arrived late): the fleet moves to it when Window ends.
	Next Window `json:"next_window,omitzero"`
}

// Window is the fleet's view of one fixed upstream rate-limit window.
type Window struct {
	// Start is the server time of its first reserved slot.
	Start time.Time `json:"start,omitzero"`
	// End is a time at or after the upstream's end of the window: until
	// the first answer of the window arrives, Start + Period + a guard;
	// then that answer's arrival + Period.
	End time.Time `json:"end,omitzero"`
	// Anchor is when the window's first answer (Remaining = Limit-1)
	// arrived; zero until then.
	Anchor time.Time `json:"anchor,omitzero"`
	// Count is the requests counted in it: reserved by the fleet, or more
	// when the upstream reported more (another client of the scope).
	Count int `json:"count,omitempty"`
}

// folded returns s with BlockFor folded into BlockedUntil, given the
// server timestamp of the entry s was read from.
func (s State) folded(created time.Time) State {
	if s.BlockFor > 0 {
		s.BlockedUntil = latest(s.BlockedUntil, created.Add(s.BlockFor))
	}
	s.BlockFor = 0
	return s
}

// limited reports whether the upstream's limits are known and apply.
func (s State) limited() bool { return s.Learned && !s.Unlimited && s.Limit > 0 && s.Period > 0 }

// budget is how many requests the fleet sends per upstream window.
func (s State) budget(margin float64) int {
	return max(1, int(float64(s.Limit)*(1-margin)))
}

// spacing is the gap between request starts: a window's budget spread
// over the Spread share of the window.
func (s State) spacing(cfg Config) time.Duration {
	return time.Duration(float64(s.Period) * cfg.Spread / float64(s.budget(cfg.Margin)))
}

// equal reports whether two states store the same thing.
func (s State) equal(o State) bool {
	return s.BlockedUntil.Equal(o.BlockedUntil) && s.BlockFor == o.BlockFor && s.NextSlot.Equal(o.NextSlot) &&
		s.Learned == o.Learned && s.Unlimited == o.Unlimited && s.Limit == o.Limit && s.Period == o.Period && s.Lowered.Equal(o.Lowered) &&
		s.Window.equal(o.Window) && s.Next.equal(o.Next)
}

func (w Window) equal(o Window) bool {
	return w.Start.Equal(o.Start) && w.End.Equal(o.End) && w.Anchor.Equal(o.Anchor) && w.Count == o.Count
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
