package app

import (
	"context"
	"fmt"
	"math"

	"github.com/sethvargo/go-envconfig"
)

// DefaultAPIConfig is the api configuration with the defaults of its env
// tags and nothing read from the environment: the dev command and the tests
// start from it, so they run with production defaults.
func DefaultAPIConfig() APIConfig {
	var c APIConfig
	mustDefaults(&c)
	return c
}

// DefaultWorkerConfig is the worker configuration with the defaults of its
// env tags and nothing read from the environment.
func DefaultWorkerConfig() WorkerConfig {
	var c WorkerConfig
	mustDefaults(&c)
	return c
}

// mustDefaults fills target from its env tags' defaults alone. The tags are
// constants of this module, so a failure is a programming error.
func mustDefaults(target any) {
	err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: target, Lookuper: envconfig.MapLookuper(nil)})
	if err != nil {
		panic(fmt.Sprintf("app: env tag defaults do not parse: %v", err))
	}
}

// Validate checks the whole worker configuration without connecting to
// anything; the first error names its environment variable.
func (c WorkerConfig) Validate() error {
	if err := c.NATS.Validate(); err != nil {
		return err
	}
	if err := c.CCloud.Validate(); err != nil {
		return err
	}
	if err := c.Retry.Validate(); err != nil {
		return err
	}
	if err := c.RateLimit.Validate(); err != nil {
		return err
	}
	if c.ShutdownGrace < 0 {
		return fmt.Errorf("SHUTDOWN_GRACE: must not be negative, got %s", c.ShutdownGrace)
	}
	if _, err := NewLogger(c.LogLevel); err != nil {
		return err
	}
	return nil
}

// Validate checks the gate's tuning; each error names its variable.
func (c RateLimitConfig) Validate() error {
	switch {
	case math.IsNaN(c.Margin) || c.Margin < 0 || c.Margin >= 1:
		return fmt.Errorf("RATELIMIT_MARGIN: %v not in [0, 1): it is the fraction of the learned limit left unused", c.Margin)
	case c.ProbeInterval <= 0:
		return fmt.Errorf("RATELIMIT_PROBE_INTERVAL: must be positive, got %s", c.ProbeInterval)
	case c.Horizon <= 0:
		return fmt.Errorf("RATELIMIT_HORIZON: must be positive, got %s", c.Horizon)
	}
	return nil
}
