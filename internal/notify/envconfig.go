package notify

import (
	"fmt"
	"time"
)

// EnvConfig is the delivery engine's environment configuration.
type EnvConfig struct {
	Concurrency int           `env:"NOTIFY_CONCURRENCY, default=16"`
	Timeout     time.Duration `env:"NOTIFY_TIMEOUT, default=10s"`
	MaxAttempts int           `env:"NOTIFY_MAX_ATTEMPTS, default=12"`
	MaxAge      time.Duration `env:"NOTIFY_MAX_AGE, default=24h"`
	MaxWait     time.Duration `env:"NOTIFY_MAX_WAIT, default=15m"`
	BackoffBase time.Duration `env:"NOTIFY_BACKOFF_BASE, default=1s"`
	BackoffMax  time.Duration `env:"NOTIFY_BACKOFF_MAX, default=5m"`
}

// Validate checks the values; the error names the variable.
func (e EnvConfig) Validate() error {
	switch {
	case e.Concurrency < 1 || e.Concurrency > 1024:
		return fmt.Errorf("NOTIFY_CONCURRENCY: %d not in 1..1024", e.Concurrency)
	case e.Timeout < 100*time.Millisecond || e.Timeout > 2*time.Minute:
		return fmt.Errorf("NOTIFY_TIMEOUT: %s not in 100ms..2m", e.Timeout)
	case e.MaxAttempts < 1:
		return fmt.Errorf("NOTIFY_MAX_ATTEMPTS: %d below 1", e.MaxAttempts)
	case e.MaxAge <= 0:
		return fmt.Errorf("NOTIFY_MAX_AGE: %s must be positive", e.MaxAge)
	case e.MaxWait <= 0:
		return fmt.Errorf("NOTIFY_MAX_WAIT: %s must be positive", e.MaxWait)
	case e.BackoffBase <= 0 || e.BackoffMax < e.BackoffBase:
		return fmt.Errorf("NOTIFY_BACKOFF_BASE/NOTIFY_BACKOFF_MAX: need 0 < base <= max, got %s and %s", e.BackoffBase, e.BackoffMax)
	}
	return nil
}

// Config turns the environment configuration into the engine's; backoff is
// the capped full-jitter backoff built from BackoffBase and BackoffMax.
func (e EnvConfig) Config(backoff Backoff) Config {
	return Config{Concurrency: e.Concurrency, CallTimeout: e.Timeout, MaxAttempts: e.MaxAttempts,
		MaxAge: e.MaxAge, MaxWait: e.MaxWait, Backoff: backoff}
}
