package app

import (
	"context"
	"fmt"

	"github.com/patchbay/patchbay/internal/worker"
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
	if err := c.RateLimit.WithDefaults().Validate(); err != nil {
		return err
	}
	if c.NATS.AckWait < c.CCloud.Timeout+worker.MinLeaseMargin {
		return fmt.Errorf("PATCHBAY_ACK_WAIT: %s must exceed CCLOUD_TIMEOUT (%s) by at least %s, so that no upstream call outlives a worker's lease",
			c.NATS.AckWait, c.CCloud.Timeout, worker.MinLeaseMargin)
	}
	if c.Concurrency < 1 {
		return fmt.Errorf("WORKER_CONCURRENCY: %d is below 1", c.Concurrency)
	}
	if c.ShutdownGrace < 0 {
		return fmt.Errorf("SHUTDOWN_GRACE: must not be negative, got %s", c.ShutdownGrace)
	}
	if _, err := NewLogger(c.LogLevel); err != nil {
		return err
	}
	return nil
}
