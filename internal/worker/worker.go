// Package worker consumes accepted changes from the JetStream work queue and
// applies them to Confluent Cloud: it keeps per-resource order, waits at the
// fleet-wide rate-limit gate, records every attempt on the change record and
// publishes the result events.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/topology"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/retry"
)

// Upstream applies one change to Confluent Cloud; *ccloud.Client implements it.
type Upstream interface {
	Do(ctx context.Context, op ccloud.Operation, id string, body []byte) (*ccloud.Response, error)
	// CredentialID names the credential for the rate-limit gate.
	CredentialID() string
}

// Gate is the fleet-wide rate-limit gate; *gate.Gate implements it.
type Gate interface {
	Reserve(ctx context.Context, credentialID string) (gate.Decision, error)
	Blocked(credentialID string) time.Time
	Observe(ctx context.Context, credentialID string, status int, rl ccloud.RateLimit, defaultWait time.Duration) error
}

// Config tunes a worker.
type Config struct {
	// Partitions must equal the topology's partitions.
	Partitions int
	// AckWait must equal the topology's AckWait; heartbeats go at a third of it.
	AckWait time.Duration
	// ShutdownGrace bounds how long in-flight changes may finish after Run's
	// context ends; changes not finished by then are redelivered elsewhere.
	ShutdownGrace time.Duration
	// Policy decides retries.
	Policy retry.Policy
}

// Deps are the worker's collaborators.
type Deps struct {
	JS       jetstream.JetStream
	Records  *records.Records
	Events   *events.Publisher
	Upstream Upstream
	Gate     Gate
	Metrics  *metrics.Worker
	Logger   *slog.Logger
	Now      func() time.Time
}

// Worker consumes every partition of the change queue and applies changes.
type Worker struct {
	cfg  Config
	deps Deps
}

// NewWorker checks its configuration and dependencies.
func New(cfg Config, deps Deps) (*Worker, error) {
	switch {
	case deps.JS == nil || deps.Records == nil || deps.Events == nil || deps.Upstream == nil || deps.Gate == nil ||
		deps.Metrics == nil || deps.Logger == nil || deps.Now == nil:
		return nil, errors.New("worker: New: nil dependency")
	case cfg.Partitions < 1:
		return nil, fmt.Errorf("worker: New: partitions %d", cfg.Partitions)
	case cfg.AckWait < time.Second:
		return nil, fmt.Errorf("worker: New: ack wait %s", cfg.AckWait)
	case cfg.Policy.Backoff == nil:
		return nil, errors.New("worker: New: policy has no backoff")
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 25 * time.Second
	}
	return &Worker{cfg: cfg, deps: deps}, nil
}

// Run pulls from every partition until ctx ends, then stops pulling, lets
// in-flight changes finish (up to ShutdownGrace) and hands back any change it
// had received but not started. It returns nil after a clean stop.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for p := 0; p < w.cfg.Partitions; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runLane(ctx, p)
		}()
	}
	wg.Wait()
	return nil
}

// runLane consumes one partition, reconnecting to the consumer as needed.
func (w *Worker) runLane(ctx context.Context, p int) {
	log := w.deps.Logger.With("partition", p)
	retryWait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.consumeLane(ctx, p)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Warn("lane interrupted; resuming", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryWait):
		}
		retryWait = min(2*retryWait, 5*time.Second)
	}
}

func (w *Worker) consumeLane(ctx context.Context, p int) error {
	cons, err := w.deps.JS.Consumer(ctx, topology.ChangesStream, topology.ConsumerName(p))
	if err != nil {
		return fmt.Errorf("open consumer: %w", err)
	}
	// One message at a time, so nothing prefetched outlives AckWait.
	it, err := cons.Messages(jetstream.PullMaxMessages(1), jetstream.PullExpiry(5*time.Second))
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			it.Drain()
		case <-stopped:
		}
	}()
	defer close(stopped)
	defer it.Stop()
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			// Received while draining: hand it back at once.
			_ = msg.Nak()
			continue
		}
		// Work continues after ctx ends, bounded by the shutdown grace.
		pctx, cancel := detach(ctx, w.cfg.ShutdownGrace)
		w.handle(pctx, msg)
		cancel()
	}
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
