package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// Backoff returns the wait before attempt n+1 after n failed attempts.
type Backoff func(n int) time.Duration

// Config tunes delivery.
type Config struct {
	// Concurrency is how many deliveries each destination runs at once.
	Concurrency int
	// CallTimeout bounds one Deliver call.
	CallTimeout time.Duration
	// MaxAttempts and MaxAge are the budget of one delivery; beyond either
	// it is given up (and can be redelivered with POST .../notify).
	MaxAttempts int
	MaxAge      time.Duration
	// MaxWait caps a receiver's Retry-After / X-RateLimit-Reset.
	MaxWait time.Duration
	// Backoff is used when the receiver named no wait.
	Backoff Backoff
	// Jitter returns a float in [0,1) to spread deliveries released together
	// after a rate-limit pause; nil means math/rand/v2.Float64.
	Jitter func() float64
	// Durable names the fan-out consumer on the events stream.
	Durable string
	// AckWait is the lease of a delivery in flight: a notifier that dies
	// mid-call leaves the item to another after it. Zero means
	// CallTimeout + 15s; it must exceed CallTimeout.
	AckWait time.Duration
}

// ErrConfig reports an invalid notifier configuration.
var ErrConfig = errors.New("notify: invalid configuration")

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return fmt.Errorf("%w: concurrency %d not in 1..1024", ErrConfig, c.Concurrency)
	case c.CallTimeout < 10*time.Millisecond:
		return fmt.Errorf("%w: call timeout %s too short", ErrConfig, c.CallTimeout)
	case c.MaxAttempts < 1:
		return fmt.Errorf("%w: max attempts %d below 1", ErrConfig, c.MaxAttempts)
	case c.MaxAge <= 0 || c.MaxWait <= 0:
		return fmt.Errorf("%w: max age and max wait must be positive", ErrConfig)
	case c.AckWait != 0 && c.AckWait <= c.CallTimeout:
		return fmt.Errorf("%w: ack wait %s must exceed the call timeout %s", ErrConfig, c.AckWait, c.CallTimeout)
	case c.Backoff == nil:
		return fmt.Errorf("%w: no backoff", ErrConfig)
	}
	return nil
}

// Deps are the notifier's collaborators.
type Deps struct {
	JS           jetstream.JetStream
	Store        *notifyqueue.Store
	Destinations []Destination
	Metrics      *metrics.Notify
	Logger       *slog.Logger
	// Now is the clock.
	Now func() time.Time
}
