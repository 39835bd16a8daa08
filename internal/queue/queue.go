// Package queue is the intake side of the work queue: it makes an accepted
// change durable in JetStream, remembers Idempotency-Keys, keeps the latest
// accepted change per resource, and re-queues failed changes for operator
// retries. The README's "Enqueue, step by step" table says what a crash or
// timeout after each step leaves behind.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// Errors of the queue that callers decide on.
var (
	// ErrIdempotencyConflict: the Idempotency-Key was used with another request.
	ErrIdempotencyConflict = errors.New("queue: idempotency key reused with a different request")
	// ErrNotFailed: only a failed change can be retried; the record returned
	// with it is the current one.
	ErrNotFailed = errors.New("queue: change is not failed")
	// ErrNotQueued: certainly nothing was queued (or re-queued) and nothing
	// was kept: the caller may say so and retry from scratch.
	ErrNotQueued = errors.New("queue: nothing was queued")
	// ErrMaybeQueued: the outcome is unknown (a late or lost publish
	// acknowledgement, a record not written after the publish). The
	// Idempotency-Key is kept: repeating the request with the same key (or
	// repeating the operator retry) yields the one change, never a second.
	ErrMaybeQueued = errors.New("queue: the change may have been queued")
	// ErrStale: a newer change to the same resource was accepted after the
	// change an operator retries; see StaleError.
	ErrStale = errors.New("queue: a newer change to the resource was accepted")
)

// StaleError names the newer change that makes a retry stale. It matches
// ErrStale with errors.Is.
type StaleError struct {
	// Newer is the id of the change accepted (or re-queued) last.
	Newer string
	// NewerState is its state, empty when its record is not readable.
	NewerState change.State
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("queue: change %s to the same resource was accepted later", e.Newer)
}

// Is makes errors.Is(err, ErrStale) true.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// TraceHeader carries the W3C trace context through the queue.
const TraceHeader = tracectx.Header

// Request is a validated change request to enqueue.
type Request struct {
	Operation      string
	Resource       change.Resource
	Body           json.RawMessage
	RequestedBy    string
	IdempotencyKey string
	TraceParent    string
	// ClientAddress, Reason and Ticket are the audit trail (see change.Record).
	ClientAddress string
	Reason        string
	Ticket        string
}

// Deps are the queue's collaborators.
type Deps struct {
	JS      jetstream.JetStream
	Records *records.Records
	// Logger reports what a caller cannot act on (a failed rollback).
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Queue is the intake side: it makes accepted changes durable.
type Queue struct {
	js        jetstream.JetStream
	records   *records.Records
	idem      jetstream.KeyValue
	resources jetstream.KeyValue
	logger    *slog.Logger
	now       func() time.Time
	newID     func() string
	// recordBackoff are the waits before each attempt to create a record.
	recordBackoff []time.Duration
}

// New opens the queue's buckets (which topology.Ensure creates).
func New(ctx context.Context, deps Deps) (*Queue, error) {
	if deps.JS == nil || deps.Records == nil || deps.Logger == nil || deps.Now == nil {
		return nil, errors.New("queue: New: nil dependency")
	}
	idem, err := deps.JS.KeyValue(ctx, topology.IdempotencyBucket)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", topology.IdempotencyBucket, err)
	}
	resources, err := deps.JS.KeyValue(ctx, topology.ResourcesBucket)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", topology.ResourcesBucket, err)
	}
	return &Queue{
		js: deps.JS, records: deps.Records, idem: idem, resources: resources,
		logger: deps.Logger, now: deps.Now, newID: change.NewID,
		recordBackoff: []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond},
	}, nil
}

// idemEntry is what an Idempotency-Key remembers.
type idemEntry struct {
	ChangeID    string    `json:"change_id"`
	RequestHash string    `json:"request_hash"`
	AcceptedAt  time.Time `json:"accepted_at"`
}

func idempotencyKVKey(caller, key string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
