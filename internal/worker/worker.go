// Package worker consumes accepted changes from the JetStream work queue and
// applies them to Confluent Cloud: it keeps per-resource order (a change
// runs only while it is the first queued change of its resource), fences
// every step with a lease it can prove, waits at the fleet-wide rate-limit
// gate, records every attempt on the change record and publishes the
// result events.
package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/retry"
)

// MinLeaseMargin is how much longer than the upstream call timeout the
// lease (AckWait) must be: a call starts only with at least the call
// timeout plus a safety margin left on a freshly renewed lease.
const MinLeaseMargin = 2 * time.Second

// DefaultHoldLeases is the default MaxHold in leases (AckWait).
const DefaultHoldLeases = 10

// ErrConfig reports an invalid worker configuration.
var ErrConfig = errors.New("worker: invalid configuration")

// Config tunes a worker.
type Config struct {
	// AckWait must equal the consumer's AckWait: the lease JetStream gives a
	// delivery between heartbeats.
	AckWait time.Duration
	// CallTimeout bounds one upstream call; AckWait must exceed it by
	// MinLeaseMargin.
	CallTimeout time.Duration
	// Concurrency is how many changes this worker runs at once.
	Concurrency int
	// MaxHold bounds how long one delivery is held: past it the lease is
	// no longer renewed, so JetStream redelivers the change even if the job
	// is stuck. Nothing legitimate holds a delivery that long (an upstream
	// call, a rate-limit slot within the gate's horizon). Default
	// DefaultHoldLeases × AckWait; at least 2 × AckWait.
	MaxHold time.Duration
	// ShutdownGrace bounds how long in-flight changes may finish after Run's
	// context ends; changes not finished by then are redelivered elsewhere.
	ShutdownGrace time.Duration
	// Policy decides retries.
	Policy retry.Policy
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.AckWait < time.Second:
		return fmt.Errorf("%w: ack wait %s below 1s", ErrConfig, c.AckWait)
	case c.CallTimeout <= 0:
		return fmt.Errorf("%w: call timeout %s", ErrConfig, c.CallTimeout)
	case c.AckWait < c.CallTimeout+MinLeaseMargin:
		return fmt.Errorf("%w: ack wait %s must exceed the upstream call timeout %s by at least %s", ErrConfig, c.AckWait, c.CallTimeout, MinLeaseMargin)
	case c.Concurrency < 1:
		return fmt.Errorf("%w: concurrency %d below 1", ErrConfig, c.Concurrency)
	case c.MaxHold != 0 && c.MaxHold < 2*c.AckWait:
		return fmt.Errorf("%w: max hold %s below twice the ack wait %s", ErrConfig, c.MaxHold, c.AckWait)
	case c.Policy.Backoff == nil:
		return fmt.Errorf("%w: policy has no backoff", ErrConfig)
	}
	return nil
}

// safety is the margin kept on the lease for a record write, a publish or
// an ack, and added to the call timeout before a call starts.
func (c Config) safety() time.Duration { return max(c.AckWait/20, 100*time.Millisecond) }

// Worker pulls changes from the queue and applies them.
type Worker struct {
	cfg   Config
	deps  Deps
	watch *headWatch
}

// New checks its configuration and dependencies.
func New(cfg Config, deps Deps) (*Worker, error) {
	if deps.Source == nil || deps.Heads == nil || deps.Records == nil || deps.Events == nil || deps.Upstream == nil ||
		deps.Gate == nil || deps.Metrics == nil || deps.Logger == nil || deps.Now == nil {
		return nil, errors.New("worker: New: nil dependency")
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 25 * time.Second
	}
	if cfg.MaxHold == 0 {
		cfg.MaxHold = DefaultHoldLeases * cfg.AckWait
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg, deps: deps, watch: newHeadWatch(stuckLeases * cfg.AckWait)}, nil
}

// maxBatch caps one pull request.
const maxBatch = 64

// Run pulls changes until ctx ends, running up to Concurrency at once, then
// stops pulling and lets in-flight changes finish (up to ShutdownGrace). It
// returns nil after a clean stop.
func (w *Worker) Run(ctx context.Context) error {
	slots := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	retryWait := 100 * time.Millisecond
	for ctx.Err() == nil {
		// Wait for one free slot, then take every other free one.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		n := 1
	take:
		for n < maxBatch {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break take
			}
		}
		got := 0
		// The pull request goes out now; no delivery of it was sent earlier.
		pulledAt := time.Now()
		err := w.deps.Source.Fetch(ctx, n, time.Second, func(d Delivery) {
			got++
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				pctx, cancel := detach(ctx, w.cfg.ShutdownGrace)
				defer cancel()
				w.handle(pctx, ctx, d, pulledAt)
			}()
		})
		for ; got < n; got++ {
			<-slots
		}
		if err != nil && ctx.Err() == nil {
			w.deps.Logger.Warn("pulling changes failed; retrying", "error", err, "retry_in", retryWait)
			select {
			case <-ctx.Done():
			case <-time.After(retryWait):
			}
			retryWait = min(2*retryWait, 5*time.Second)
			continue
		}
		retryWait = 100 * time.Millisecond
	}
	return nil
}

// detach returns a context that ignores parent's cancellation for up to
// grace after it, so that in-flight work can finish during a shutdown.
func detach(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	// No goroutine per message: a callback on parent's end arms a timer.
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(parent, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, cancel)
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
