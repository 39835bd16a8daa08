package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// EventsStream is the stream the result events are in.
const EventsStream = "PATCHBAY_EVENTS"

// destinationName is the shape of a destination name (a subject token).
var destinationName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Notifier consumes result events and delivers them. The fan-out turns each
// event into one work item per destination that wants it and acknowledges
// the event; each destination then drains its own durable consumer with its
// own workers, and a failing delivery waits in JetStream (NakWithDelay), so
// neither a slow destination nor a retrying delivery holds anything else.
type Notifier struct {
	cfg     Config
	js      jetstream.JetStream
	store   *notifyqueue.Store
	dests   []Destination
	byName  map[string]Destination
	metrics *metrics.Notify
	logger  *slog.Logger
	now     func() time.Time
	pace    *pacer
}

// New validates cfg and builds a notifier.
func New(cfg Config, deps Deps) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.JS == nil || deps.Store == nil || deps.Metrics == nil || deps.Logger == nil || deps.Now == nil {
		return nil, errors.New("notify: nil dependency")
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = cfg.CallTimeout + 15*time.Second
	}
	if cfg.Durable == "" {
		cfg.Durable = "notifier"
	}
	n := &Notifier{cfg: cfg, js: deps.JS, store: deps.Store, dests: deps.Destinations,
		byName: map[string]Destination{}, metrics: deps.Metrics, logger: deps.Logger, now: deps.Now, pace: newPacer()}
	for _, d := range deps.Destinations {
		name := d.Name()
		if !destinationName.MatchString(name) {
			return nil, fmt.Errorf("%w: destination name %q", ErrConfig, name)
		}
		if _, dup := n.byName[name]; dup {
			return nil, fmt.Errorf("%w: destination %q twice", ErrConfig, name)
		}
		n.byName[name] = d
	}
	return n, nil
}

// DeliveryConsumer is the durable consumer of a destination's work items.
func DeliveryConsumer(destination string) string { return "notify-" + destination }

// Run creates the consumers and delivers until ctx ends; then it stops
// pulling and waits for the attempts in flight (each bounded by CallTimeout).
func (n *Notifier) Run(ctx context.Context) error {
	fan, err := n.js.CreateOrUpdateConsumer(ctx, EventsStream, jetstream.ConsumerConfig{
		Durable:       n.cfg.Durable,
		Description:   "Patchbay notifier fan-out: one work item per event and destination",
		FilterSubject: events.SubjectPrefix + ">",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		DeliverPolicy: jetstream.DeliverNewPolicy,
		MaxDeliver:    -1,
		MaxAckPending: 256,
	})
	if err != nil {
		return fmt.Errorf("notify: fan-out consumer: %w", err)
	}
	type lane struct {
		d    Destination
		cons jetstream.Consumer
	}
	lanes := make([]lane, 0, len(n.dests))
	for _, d := range n.dests {
		cons, err := n.js.CreateOrUpdateConsumer(ctx, notifyqueue.Stream, jetstream.ConsumerConfig{
			Durable:       DeliveryConsumer(d.Name()),
			Description:   "Patchbay deliveries to " + d.Name(),
			FilterSubject: notifyqueue.Subject(d.Name()),
			AckPolicy:     jetstream.AckExplicitPolicy,
			// The lease outlives one call; a notifier that dies mid-call
			// leaves the item to be redelivered after it.
			AckWait:    n.cfg.AckWait,
			MaxDeliver: -1,
			// Items waiting for a retry stay pending: room for many.
			MaxAckPending: 10000,
		})
		if err != nil {
			return fmt.Errorf("notify: consumer for %s: %w", d.Name(), err)
		}
		lanes = append(lanes, lane{d: d, cons: cons})
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(lanes)+1)
	wg.Go(func() { errc <- n.consume(ctx, fan, 16, n.fanOut) })
	for _, l := range lanes {
		wg.Go(func() {
			errc <- n.consume(ctx, l.cons, n.cfg.Concurrency, func(ctx context.Context, m jetstream.Msg) {
				n.deliver(ctx, l.d, m)
			})
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// consume pulls from cons and runs handle on up to workers messages at once,
// until ctx ends. Handlers get a context that outlives ctx, so an attempt in
// flight at shutdown finishes (within CallTimeout) and is acknowledged.
func (n *Notifier) consume(ctx context.Context, cons jetstream.Consumer, workers int, handle func(context.Context, jetstream.Msg)) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(workers))
	if err != nil {
		return fmt.Errorf("notify: pull: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	base := context.WithoutCancel(ctx)
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			n.logger.Warn("notify: pull failed", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			handle(base, msg)
		})
	}
}
