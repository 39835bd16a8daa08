package notify

import (
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/events"
)

// RateScoper is optionally implemented by a destination whose receivers
// rate-limit by something narrower than the destination (a webhook host per
// caller); the scope names the limit an event's delivery counts against.
// Destinations without it share one scope: their Name.
type RateScoper interface {
	RateScope(ev events.Event) string
}

// scopeOf is the rate-limit scope of delivering ev to d.
func scopeOf(d Destination, ev events.Event) string {
	if rs, ok := d.(RateScoper); ok {
		if s := rs.RateScope(ev); s != "" {
			return d.Name() + " " + s
		}
	}
	return d.Name()
}

// pacer remembers, per rate-limit scope, until when the receiver asked not
// to be called (a 429's Retry-After or X-RateLimit-Reset). While a scope is
// paused its other deliveries wait in JetStream instead of each collecting
// its own 429. It is per process; every notifier learns from its own 429s.
type pacer struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newPacer() *pacer { return &pacer{until: map[string]time.Time{}} }

// pause holds scope until t (a later pause wins).
func (p *pacer) pause(scope string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.until[scope]) {
		p.until[scope] = t
	}
}

// pausedUntil returns until when scope is paused, if it is at now.
func (p *pacer) pausedUntil(scope string, now time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.until[scope]
	if !ok {
		return time.Time{}, false
	}
	if !t.After(now) {
		delete(p.until, scope)
		return time.Time{}, false
	}
	return t, true
}
