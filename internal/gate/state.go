// Package gate is the fleet-wide rate-limit gate: one JetStream KV key
// per upstream credential, updated with compare-and-swap by every worker.
// After a 429 no worker sends before the Retry-After has elapsed, and the
// fleet paces itself from X-RateLimit-Limit/-Remaining/-Reset (a shared
// schedule of request slots, GCRA style) so that 429s stay rare.
package gate

import (
	"time"
)

// Bucket is the KV bucket of the gate.
const Bucket = "patchbay_ratelimit"

// State is the gate of one credential as stored in KV.
type State struct {
	// BlockedUntil: nobody sends before it (Retry-After, or Reset when the
	// upstream said Remaining 0).
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
	// NextSlot is the earliest start of the next request.
	NextSlot time.Time `json:"next_slot,omitzero"`
	// Learned is set once a response told whether limits apply.
	Learned bool `json:"learned"`
	// Unlimited: the upstream sends no rate-limit headers for this credential.
	Unlimited bool `json:"unlimited"`
	// Limit and Period describe the upstream window as learned.
	Limit  int           `json:"limit,omitempty"`
	Period time.Duration `json:"period,omitempty"`
	// WindowStart is when the current upstream window began, as seen from
	// the first response of a window (Remaining = Limit-1); it lets an
	// exhausted window be waited out precisely instead of by the whole-second
	// X-RateLimit-Reset.
	WindowStart time.Time `json:"window_start,omitzero"`
}

// interval is the spacing between request starts that keeps the fleet
// under Limit per Period with a safety margin.
func (s State) interval(margin float64, fallback time.Duration) time.Duration {
	if !s.Learned || s.Limit <= 0 || s.Period <= 0 {
		return fallback
	}
	return time.Duration(float64(s.Period) / float64(s.Limit) * (1 + margin))
}
