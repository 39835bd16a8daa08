package gate

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config tunes the gate. It is loaded from the environment with
// go-envconfig; the env tags hold the only copy of the defaults
// (DefaultConfig reads them).
type Config struct {
	// Scope names the rate-limit scope every credential of this worker
	// shares (for example one Confluent Cloud organisation or user). Empty:
	// one gate per credential. With a scope, a rotated API key or a new
	// access token keeps the gate (and any Retry-After) it had.
	Scope string `env:"RATELIMIT_SCOPE"`
	// Margin is the share of each upstream window's quota the fleet leaves
	// unused, for other clients of the same credential (0.1 = 10%).
	Margin float64 `env:"RATELIMIT_MARGIN, default=0"`
	// Spread is the share of an upstream window over which its requests are
	// spaced; the rest of the window absorbs network and scheduling jitter,
	// so a late request does not land in the next window.
	Spread float64 `env:"RATELIMIT_SPREAD, default=0.8"`
	// ProbeInterval spaces requests while nothing is known yet, so a cold
	// fleet sends one probe at a time instead of a burst.
	ProbeInterval time.Duration `env:"RATELIMIT_PROBE_INTERVAL, default=250ms"`
	// Horizon is how far ahead a slot may be reserved; a caller facing a
	// longer wait is told to come back later instead of holding a slot.
	Horizon time.Duration `env:"RATELIMIT_HORIZON, default=10s"`
}

// scopeName is what RATELIMIT_SCOPE may hold: safe as part of a KV key and
// in logs.
var scopeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DefaultConfig returns the defaults of the env tags, as an empty
// environment would give them.
func DefaultConfig() Config {
	var c Config
	err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(nil)})
	if err != nil {
		panic(fmt.Sprintf("gate: defaults in the env tags do not parse: %v", err)) // a programming error
	}
	return c
}

// WithDefaults returns c with every zero field but Scope and Margin (whose
// zero is meaningful) set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.Spread == 0 {
		c.Spread = d.Spread
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = d.ProbeInterval
	}
	if c.Horizon == 0 {
		c.Horizon = d.Horizon
	}
	return c
}

// Validate checks c; the error names the environment variable at fault.
func (c Config) Validate() error {
	switch {
	case c.Scope != "" && !scopeName.MatchString(c.Scope):
		return fmt.Errorf("RATELIMIT_SCOPE: %q must be 1 to 64 letters, digits, '_' or '-'", c.Scope)
	case !(c.Margin >= 0 && c.Margin <= 0.5):
		return fmt.Errorf("RATELIMIT_MARGIN: %v is not a share between 0 and 0.5", c.Margin)
	case !(c.Spread > 0 && c.Spread <= 1):
		return fmt.Errorf("RATELIMIT_SPREAD: %v is not a share above 0 and at most 1", c.Spread)
	case c.ProbeInterval <= 0:
		return fmt.Errorf("RATELIMIT_PROBE_INTERVAL: %s must be positive", c.ProbeInterval)
	case c.Horizon <= 0:
		return fmt.Errorf("RATELIMIT_HORIZON: %s must be positive", c.Horizon)
	}
	return nil
}
