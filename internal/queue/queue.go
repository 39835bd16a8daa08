// Package queue is the intake side of the work queue: it makes an accepted
// change durable in JetStream, remembers Idempotency-Keys, and re-queues
// failed changes for operator retries.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/topology"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// Errors of the queue that callers decide on.
var (
	// ErrIdempotencyConflict: the Idempotency-Key was used with another request.
	ErrIdempotencyConflict = errors.New("queue: idempotency key reused with a different request")
	// ErrNotFailed: only a failed change can be retried.
	ErrNotFailed = errors.New("queue: change is not failed")
)

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

// Queue is the intake side: it makes accepted changes durable.
type Queue struct {
	js      jetstream.JetStream
	records *records.Records
	idem    jetstream.KeyValue
	now     func() time.Time
	newID   func() string
}

// NewQueue opens the queue's buckets. now is the clock.
func NewQueue(ctx context.Context, js jetstream.JetStream, records *records.Records, now func() time.Time) (*Queue, error) {
	if js == nil || records == nil || now == nil {
		return nil, errors.New("queue: NewQueue: nil dependency")
	}
	idem, err := js.KeyValue(ctx, topology.IdempotencyBucket)
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", topology.IdempotencyBucket, err)
	}
	return &Queue{js: js, records: records, idem: idem, now: now, newID: change.NewID}, nil
}

type idemEntry struct {
	ChangeID    string    `json:"change_id"`
	RequestHash string    `json:"request_hash"`
	AcceptedAt  time.Time `json:"accepted_at"`
}

// Enqueue persists the change in the work queue and then records it. It
// returns the record and whether this call created the change (false when an
// Idempotency-Key replayed an earlier one). Nothing is acknowledged to the
// caller unless the change message is stored in JetStream.
func (q *Queue) Enqueue(ctx context.Context, req Request) (change.Record, bool, error) {
	id, acceptedAt := q.newID(), q.now().UTC()
	var idemKey string
	var idemRev uint64
	if req.IdempotencyKey != "" {
		idemKey = idempotencyKVKey(req.RequestedBy, req.IdempotencyKey)
		hash := requestHash(req)
		entry, _ := json.Marshal(idemEntry{ChangeID: id, RequestHash: hash, AcceptedAt: acceptedAt})
		rev, err := q.idem.Create(ctx, idemKey, entry)
		switch {
		case errors.Is(err, jetstream.ErrKeyExists):
			prev, err := q.idem.Get(ctx, idemKey)
			if err != nil {
				return change.Record{}, false, fmt.Errorf("queue: read idempotency key: %w", err)
			}
			var old idemEntry
			if err := json.Unmarshal(prev.Value(), &old); err != nil {
				return change.Record{}, false, fmt.Errorf("queue: decode idempotency entry: %w", err)
			}
			if old.RequestHash != hash {
				return change.Record{}, false, ErrIdempotencyConflict
			}
			rec, _, err := q.records.Get(ctx, old.ChangeID)
			if err == nil {
				return rec, false, nil
			}
			if !errors.Is(err, records.ErrNotFound) {
				return change.Record{}, false, err
			}
			// The first request stopped between remembering the key and
			// recording the change: finish its work under the same id. The
			// message id makes JetStream drop a second copy.
			id, acceptedAt = old.ChangeID, old.AcceptedAt
		case err != nil:
			return change.Record{}, false, fmt.Errorf("queue: remember idempotency key: %w", err)
		default:
			idemRev = rev
		}
	}
	msg := change.Message{
		ID: id, Operation: req.Operation, Resource: req.Resource, Body: req.Body,
		RequestedBy: req.RequestedBy, IdempotencyKey: req.IdempotencyKey, AcceptedAt: acceptedAt,
		ClientAddress: req.ClientAddress, Reason: req.Reason, Ticket: req.Ticket,
	}
	if err := q.publish(ctx, msg, req.TraceParent); err != nil {
		if idemRev != 0 {
			// Forget the key so that a retry of this request starts afresh.
			_ = q.idem.Delete(context.WithoutCancel(ctx), idemKey, jetstream.LastRevision(idemRev))
		}
		return change.Record{}, false, err
	}
	rec := change.NewRecord(msg)
	if _, err := q.records.Create(ctx, rec); err != nil {
		if errors.Is(err, records.ErrExists) {
			if cur, _, gerr := q.records.Get(ctx, id); gerr == nil {
				return cur, true, nil
			}
		}
		// The change is durable in the queue and the worker records it when
		// it picks it up; the caller's 202 is still true.
		return rec, true, nil
	}
	return rec, true, nil
}

// Retry re-queues a failed change as its next generation.
func (q *Queue) Retry(ctx context.Context, id, traceparent string) (change.Record, error) {
	rec, rev, err := q.records.Get(ctx, id)
	if err != nil {
		return change.Record{}, err
	}
	if rec.State != change.StateFailed {
		return rec, ErrNotFailed
	}
	body, err := q.records.Payload(ctx, rec.ID)
	if err != nil {
		return change.Record{}, fmt.Errorf("queue: retry %s: request body: %w", rec.ID, err)
	}
	prev := rec
	now := q.now().UTC()
	rec.Generation++
	rec.State = change.StateQueued
	rec.UpdatedAt = now
	rec.QueuedAt = now
	rec.CompletedAt = nil
	rec.Error = nil
	rec.Result = nil
	rec.NextAttemptAt = nil
	rec.RetryReason = ""
	newRev, err := q.records.Update(ctx, rec, rev)
	if err != nil {
		if errors.Is(err, records.ErrConflict) {
			return rec, ErrNotFailed
		}
		return change.Record{}, err
	}
	msg := change.Message{
		ID: rec.ID, Operation: rec.Operation, Resource: rec.Resource, Body: body,
		RequestedBy: rec.RequestedBy, IdempotencyKey: rec.IdempotencyKey, AcceptedAt: rec.AcceptedAt,
		ClientAddress: rec.ClientAddress, Reason: rec.Reason, Ticket: rec.Ticket,
		Generation: rec.Generation,
	}
	if err := q.publish(ctx, msg, traceparent); err != nil {
		// Put the record back so the operator can retry again.
		_, _ = q.records.Update(context.WithoutCancel(ctx), prev, newRev)
		return change.Record{}, err
	}
	return rec, nil
}

func (q *Queue) publish(ctx context.Context, msg change.Message, traceparent string) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("queue: encode change: %w", err)
	}
	m := nats.NewMsg(topology.ChangeSubject(msg.Resource))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, msg.ID+".g"+strconv.Itoa(msg.Generation))
	// A malformed traceparent is dropped here, never propagated.
	if tp := tracectx.Clean(traceparent); tp != "" {
		m.Header.Set(TraceHeader, tp)
	}
	if _, err := q.js.PublishMsg(ctx, m); err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			// With reconnect buffering off this is what "disconnected" looks like.
			err = fmt.Errorf("NATS is not connected: %w", err)
		}
		return fmt.Errorf("queue: enqueue %s: %w", msg.ID, err)
	}
	return nil
}

func idempotencyKVKey(caller, key string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func requestHash(req Request) string {
	h := sha256.New()
	h.Write([]byte(req.Operation + "\x00" + req.Resource.Path + "\x00"))
	h.Write(req.Body)
	return hex.EncodeToString(h.Sum(nil))
}
