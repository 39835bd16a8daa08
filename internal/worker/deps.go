package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/metrics"
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

// RecordStore keeps change records with compare-and-swap; *records.Records
// implements it. Update returns records.ErrConflict when rev is stale, Get
// records.ErrNotFound and Create records.ErrExists.
type RecordStore interface {
	Get(ctx context.Context, id string) (change.Record, uint64, error)
	Create(ctx context.Context, rec change.Record) (uint64, error)
	Update(ctx context.Context, rec change.Record, rev uint64) (uint64, error)
	SavePayload(ctx context.Context, id string, body []byte) error
}

// EventPublisher persists result events; *events.Publisher implements it.
type EventPublisher interface {
	Publish(ctx context.Context, rec change.Record, traceparent string) error
}

// Heads finds the first queued change of a resource; *topology.Heads
// implements it. It returns topology.ErrNoHead when none is queued.
type Heads interface {
	Head(ctx context.Context, r change.Resource) (seq uint64, data []byte, err error)
}

// Delivery is one delivery of a queued change.
type Delivery interface {
	// Data is the message payload (a change.Message).
	Data() []byte
	// Header returns a message header.
	Header(key string) string
	// Seq is the message's stream sequence.
	Seq() uint64
	// NumDelivered is JetStream's delivery count of this delivery.
	NumDelivered() uint64
	// Heartbeat asks JetStream to restart the ack timer and waits for its
	// confirmation.
	Heartbeat(ctx context.Context) error
	// Ack removes the change from the queue and waits for the confirmation.
	Ack(ctx context.Context) error
	// Nak hands the change back for redelivery after delay.
	Nak(delay time.Duration) error
	// Term removes an unprocessable message for good.
	Term() error
}

// Source pulls deliveries from the queue.
type Source interface {
	// Fetch asks for up to max deliveries, waiting at most wait, and calls
	// each for every delivery as it arrives. The ack timer of every
	// delivery starts no earlier than the moment Fetch was called.
	Fetch(ctx context.Context, max int, wait time.Duration, each func(Delivery)) error
}

// Hooks are test-only interception points; nil fields do nothing. They run
// on the delivery's goroutine with its heartbeats suspended, so a hook that
// blocks freezes that change exactly there, as a GC pause, a frozen VM or
// SIGSTOP would.
type Hooks struct {
	// BeforeCall runs after the attempt was claimed on the record and the
	// lease checked, before the upstream call starts.
	BeforeCall func(changeID string)
	// AfterCall runs after the upstream call returned, before anything is
	// written.
	AfterCall func(changeID string)
}

// Deps are the worker's collaborators.
type Deps struct {
	Source   Source
	Heads    Heads
	Records  RecordStore
	Events   EventPublisher
	Upstream Upstream
	Gate     Gate
	Metrics  *metrics.Worker
	Logger   *slog.Logger
	// Now is the wall clock for record times. Leases always use the
	// monotonic clock (time.Now), whatever Now is.
	Now   func() time.Time
	Hooks Hooks
	// StuckHead, when set, is told the stream sequence of a resource's
	// first queued change that has not moved for several leases while
	// later changes of the resource are delivered: JetStream is not
	// delivering it (see topology.HeadRepair). It must return at once.
	StuckHead func(seq uint64)
}

// current is a record with the revision it was read or written at.
type current struct {
	rec change.Record
	rev uint64
}
