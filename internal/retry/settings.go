package retry

import (
	"errors"
	"fmt"
	"time"
)

// Settings are the retry budgets as read from the environment (go-envconfig
// tags); defaults live here and nowhere else.
type Settings struct {
	MaxErrorAttempts int           `env:"RETRY_MAX_ATTEMPTS, default=10"`
	MaxAge           time.Duration `env:"RETRY_MAX_AGE, default=24h"`
	MaxRateLimitWait time.Duration `env:"RETRY_MAX_RATE_LIMIT_WAIT, default=5m"`
	BackoffBase      time.Duration `env:"RETRY_BACKOFF_BASE, default=1s"`
	BackoffMax       time.Duration `env:"RETRY_BACKOFF_MAX, default=5m"`
}

// ErrSettings reports invalid Settings; the message names the variable.
var ErrSettings = errors.New("invalid retry settings")

// Validate checks the budgets; each error names its environment variable.
func (s Settings) Validate() error {
	bad := func(variable, format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", variable, ErrSettings, fmt.Sprintf(format, args...))
	}
	switch {
	case s.MaxErrorAttempts < 1:
		return bad("RETRY_MAX_ATTEMPTS", "must be at least 1, got %d", s.MaxErrorAttempts)
	case s.MaxAge <= 0:
		return bad("RETRY_MAX_AGE", "must be positive, got %s", s.MaxAge)
	case s.MaxRateLimitWait <= 0:
		return bad("RETRY_MAX_RATE_LIMIT_WAIT", "must be positive, got %s", s.MaxRateLimitWait)
	case s.BackoffBase <= 0:
		return bad("RETRY_BACKOFF_BASE", "must be positive, got %s", s.BackoffBase)
	case s.BackoffMax < s.BackoffBase:
		return bad("RETRY_BACKOFF_MAX", "%s is below RETRY_BACKOFF_BASE %s", s.BackoffMax, s.BackoffBase)
	}
	return nil
}

// Policy is the retry policy for these settings; rnd draws the jitter in
// [0, 1) (math/rand/v2.Float64 in production).
func (s Settings) Policy(rnd func() float64) Policy {
	return Policy{
		MaxErrorAttempts:     s.MaxErrorAttempts,
		MaxAge:               s.MaxAge,
		MaxRateLimitWait:     s.MaxRateLimitWait,
		DefaultRateLimitWait: time.Second,
		Backoff:              FullJitter(s.BackoffBase, s.BackoffMax, rnd),
	}
}
