package ccloudsim

import (
	"net/http"
	"strconv"
	"time"
)

// window is one credential's fixed rate-limit window and Retry-After deadline.
type window struct {
	start      time.Time
	count      int
	retryUntil time.Time
}

// rateHeaders are the X-RateLimit-* values of one response.
type rateHeaders struct {
	set        bool // false when rate limiting is off
	limit      int
	remaining  int
	reset      int // relative seconds
	retryAfter int // seconds; 0 unless limited
}

// apply adds the headers to resp.
func (h rateHeaders) apply(resp *response) {
	if !h.set {
		return
	}
	resp.header("X-RateLimit-Limit", strconv.Itoa(h.limit))
	resp.header("X-RateLimit-Remaining", strconv.Itoa(h.remaining))
	resp.header("X-RateLimit-Reset", strconv.Itoa(h.reset))
	if h.retryAfter > 0 {
		resp.header("Retry-After", strconv.Itoa(h.retryAfter))
	}
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	return max(n, 1)
}

// rateCheck counts a request of credential key against its window and
// reports the headers and whether it is rate limited. A request arriving
// before the credential's last Retry-After has elapsed is a violation and is
// limited whatever the window says.
func (s *Server) rateCheck(key string) (rateHeaders, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit <= 0 {
		return rateHeaders{}, false
	}
	now := s.opts.Now()
	limit := s.limitLocked(now)
	if s.opts.RateLimitShared {
		key = "shared"
	}
	w := s.windows[key]
	if w == nil {
		w = &window{start: now}
		s.windows[key] = w
	}
	if !now.Before(w.start.Add(s.period)) {
		w.start, w.count = now, 0
	}
	h := rateHeaders{set: true, limit: limit}
	if now.Before(w.retryUntil) {
		s.stats.Violations++
		h.retryAfter = ceilSeconds(w.retryUntil.Sub(now))
		h.reset = h.retryAfter
		w.retryUntil = later(w.retryUntil, now.Add(time.Duration(h.retryAfter)*time.Second))
		return h, true
	}
	h.reset = ceilSeconds(w.start.Add(s.period).Sub(now))
	if w.count >= limit {
		h.retryAfter = h.reset
		w.retryUntil = now.Add(time.Duration(h.retryAfter) * time.Second)
		return h, true
	}
	w.count++
	h.remaining = limit - w.count
	return h, false
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// SetRateLimit changes the limit (0 = unlimited) and window (0 = 1s); it
// starts fresh windows and forgets outstanding Retry-After deadlines (and
// restarts a RateSchedule with the new limit as its base).
func (s *Server) SetRateLimit(n int, period time.Duration) {
	if period <= 0 {
		period = DefaultRatePeriod
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.period = max(n, 0), period
	s.windows = make(map[string]*window)
	s.scheduleStart = time.Time{}
}

// tooManyRequests is the 429 response; the rate headers are added by the caller.
func tooManyRequests(id string, retryAfter int) response {
	return errorResponse(id, http.StatusTooManyRequests, "too_many_requests", "Rate Limit Exceeded",
		"Too many requests; wait "+strconv.Itoa(retryAfter)+" second(s), as Retry-After says, before retrying.", "")
}
