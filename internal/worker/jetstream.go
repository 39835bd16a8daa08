package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/topology"
)

// JetStreamSource pulls deliveries from the workers' durable consumer.
type JetStreamSource struct {
	nc *nats.Conn
	js jetstream.JetStream

	mu   sync.Mutex
	cons jetstream.Consumer
}

// NewJetStreamSource returns a Source reading topology.WorkersConsumer. nc
// is the connection under js, used for confirmed heartbeats.
func NewJetStreamSource(nc *nats.Conn, js jetstream.JetStream) (*JetStreamSource, error) {
	if nc == nil || js == nil {
		return nil, fmt.Errorf("worker: NewJetStreamSource: nil connection")
	}
	return &JetStreamSource{nc: nc, js: js}, nil
}

func (s *JetStreamSource) consumer(ctx context.Context) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cons != nil {
		return s.cons, nil
	}
	c, err := s.js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer)
	if err != nil {
		return nil, fmt.Errorf("worker: open consumer %s: %w", topology.WorkersConsumer, err)
	}
	s.cons = c
	return c, nil
}

// Fetch implements Source with one pull request.
func (s *JetStreamSource) Fetch(ctx context.Context, max int, wait time.Duration, each func(Delivery)) error {
	c, err := s.consumer(ctx)
	if err != nil {
		return err
	}
	batch, err := c.Fetch(max, jetstream.FetchMaxWait(wait))
	if err != nil {
		s.mu.Lock()
		s.cons = nil // re-open next time (consumer recreated, NATS restarted)
		s.mu.Unlock()
		return fmt.Errorf("worker: fetch: %w", err)
	}
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			_ = m.Term()
			continue
		}
		each(&jsDelivery{nc: s.nc, m: m, seq: meta.Sequence.Stream, delivered: meta.NumDelivered})
	}
	if err := batch.Error(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("worker: fetch: %w", err)
	}
	return nil
}

// jsDelivery adapts a jetstream.Msg to Delivery.
type jsDelivery struct {
	nc        *nats.Conn
	m         jetstream.Msg
	seq       uint64
	delivered uint64
}

func (d *jsDelivery) Data() []byte                  { return d.m.Data() }
func (d *jsDelivery) Seq() uint64                   { return d.seq }
func (d *jsDelivery) NumDelivered() uint64          { return d.delivered }
func (d *jsDelivery) Nak(delay time.Duration) error { return d.m.NakWithDelay(delay) }
func (d *jsDelivery) Term() error                   { return d.m.Term() }
func (d *jsDelivery) Ack(ctx context.Context) error {
	return d.m.DoubleAck(ctx)
}

func (d *jsDelivery) Header(key string) string {
	if h := d.m.Headers(); h != nil {
		return h.Get(key)
	}
	return ""
}

// Heartbeat sends "+WPI" as a request: the server answers once it has
// processed it, which InProgress (fire-and-forget) does not tell.
func (d *jsDelivery) Heartbeat(ctx context.Context) error {
	if _, err := d.nc.RequestWithContext(ctx, d.m.Reply(), []byte("+WPI")); err != nil {
		return fmt.Errorf("worker: heartbeat: %w", err)
	}
	return nil
}
