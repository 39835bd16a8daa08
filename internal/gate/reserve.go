package gate

import "time"

// probeRecheck is how soon a caller waiting for the first response of a
// cold gate asks again.
const probeRecheck = 20 * time.Millisecond

// provisionalGuard is added to Start + Period to bound the end of a window
// whose first answer has not arrived yet (the request's network time); the
// next window is planned from that bound only when the answer never comes.
const provisionalGuard = 100 * time.Millisecond

// plan is what reserve decides, in server time.
type plan struct {
	reserved bool
	start    time.Time // the slot (reserved)
	retryAt  time.Time // when to ask again (not reserved)
	blocked  bool      // the wait is a Retry-After
	write    bool      // next must be stored before the slot is used
	next     State
}

// reserve plans one request at server time now; jitter in [0,1) spreads
// callers told to come back.
func reserve(s State, now time.Time, cfg Config, jitter float64) plan {
	if s.Learned && s.Unlimited && !s.BlockedUntil.After(now) {
		return plan{reserved: true, start: now} // nothing to coordinate
	}
	if s.BlockedUntil.After(now.Add(cfg.Horizon)) {
		return plan{retryAt: s.BlockedUntil, blocked: true}
	}
	if !s.Learned && s.NextSlot.After(now) {
		// A probe is out: wait for it to teach the limit rather than
		// queue more probe-spaced slots behind it.
		return plan{retryAt: now.Add(min(cfg.ProbeInterval, probeRecheck))}
	}
	start := latest(now, s.NextSlot, s.BlockedUntil)
	next := s
	switch {
	case !s.Learned: // the probe
		next.NextSlot = start.Add(cfg.ProbeInterval)
		next.Window = Window{Start: start, End: start.Add(max(s.Period, time.Second) + provisionalGuard), Count: 1}
	case s.Unlimited: // blocked until now
		next.NextSlot = start
	default:
		if w := s.Window; w.Anchor.IsZero() && !w.End.IsZero() && w.Count >= s.budget(cfg.Margin) {
			if now.Before(w.Start.Add(s.Period)) {
				// The window is full and its first answer, which tells
				// when it ends, is due (however late a stalled machine
				// sends it): plan the next window from that answer, not a
				// guess. Callers come back spread out.
				wait := probeRecheck + time.Duration(jitter*float64(2*probeRecheck))
				return plan{retryAt: latest(now, w.Start).Add(wait)}
			}
			// No answer for a whole period: its requests were lost. Any
			// that did arrive came before now.
			next.Window.End = latest(w.End, now.Add(s.Period))
		}
		start = next.take(start, cfg)
		next.NextSlot = start.Add(next.spacing(cfg))
	}
	if start.Sub(now) > cfg.Horizon {
		return plan{retryAt: start.Add(-cfg.Horizon / 2), blocked: start.Equal(s.BlockedUntil)}
	}
	return plan{reserved: true, start: start, write: true, next: next,
		blocked: start.Equal(s.BlockedUntil) && !start.Equal(now)}
}

// take counts one request in the window at or after start (moving to the
// next window when the current one is over or used up) and returns the
// request's start.
func (s *State) take(start time.Time, cfg Config) time.Time {
	budget := s.budget(cfg.Margin)
	// No slot in a window's tail: a request sent there and delayed would
	// arrive in the upstream's next window, uncounted.
	tail := time.Duration(float64(s.Period) * (1 - cfg.Spread))
	for range 3 {
		if s.Window.End.IsZero() || !start.Before(s.Window.End.Add(-tail)) {
			start = latest(start, s.Window.End)
			s.open(start)
		}
		if s.Window.Count < budget {
			// A slot counted in a window never starts before it: with the
			// spacing reset (a raised limit) the window may lie ahead.
			s.Window.Count++
			return latest(start, s.Window.Start)
		}
		start = latest(start, s.Window.End)
	}
	// Only reached when a pre-seeded window was already full: start a
	// fresh one after it.
	start = latest(start, s.Window.End)
	s.Window = Window{Start: start, End: start.Add(s.Period + provisionalGuard), Count: 1}
	return start
}

// open makes the window in which a request starting at start counts:
// the upstream's next window when it already began (Next), else a new one.
func (s *State) open(start time.Time) {
	if !s.Next.End.IsZero() && start.Before(s.Next.End) && !start.Before(s.Next.Start) {
		s.Window, s.Next = s.Next, Window{}
		return
	}
	s.Next = Window{}
	s.Window = Window{Start: start, End: start.Add(s.Period + provisionalGuard)}
}
