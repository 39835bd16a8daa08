package intake

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// rateLimiter keeps one token bucket per caller, in process. The number of
// buckets is bounded by the number of configured callers.
type rateLimiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

// tokenBucket is a caller's bucket.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(now func() time.Time) *rateLimiter {
	return &rateLimiter{now: now, buckets: map[string]*tokenBucket{}}
}

// take spends one token of key's bucket under limit lim. When the bucket is
// empty it returns false and how long until a token is available.
func (l *rateLimiter) take(key string, lim RateLimit) (bool, time.Duration) {
	if lim.Rate <= 0 {
		return true, 0
	}
	burst := float64(max(lim.Burst, 1))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = &tokenBucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(burst, b.tokens+elapsed*lim.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / lim.Rate * float64(time.Second))
}

// limitFor is the caller's own limit, else the intake's.
func (s *Server) limitFor(c *Caller) RateLimit {
	if c.RateLimit.Rate > 0 {
		return c.RateLimit
	}
	return s.cfg.RateLimit
}

// rateLimit is the per-caller intake limit middleware (after authenticate):
// beyond it, 429 with Retry-After in whole seconds.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller := callerFrom(c)
		lim := s.limitFor(caller)
		ok, wait := s.limiter.take(caller.Name, lim)
		if ok {
			return next(c)
		}
		secs := max(1, int64(math.Ceil(wait.Seconds())))
		return fail(http.StatusTooManyRequests, "rate_limited", "Too Many Requests",
			"caller "+strconv.Quote(caller.Name)+" is over its intake limit of "+
				strconv.FormatFloat(lim.Rate, 'g', -1, 64)+" requests/s (burst "+strconv.Itoa(max(lim.Burst, 1))+
				"); retry after "+strconv.FormatInt(secs, 10)+"s", "").
			withHeader("Retry-After", strconv.FormatInt(secs, 10))
	}
}
