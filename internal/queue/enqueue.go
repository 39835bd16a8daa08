package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
)

// errKeyVanished: an Idempotency-Key seen a moment ago expired meanwhile.
var errKeyVanished = errors.New("queue: idempotency key vanished")

// Enqueue makes a change durable and readable, in this order: remember the
// Idempotency-Key (change id and request hash), note the change as its
// resource's latest, publish the change message (its Nats-Msg-Id names the
// change and generation), and create the record. It returns the record and
// whether this call created it: of several calls with one Idempotency-Key
// exactly one creates the record, the others replay it.
//
// Nothing is returned without error unless the message is stored and the
// record readable. An error wraps ErrNotQueued when certainly nothing was
// stored, ErrMaybeQueued when the outcome is unknown. The key is never
// forgotten: a later call with the same key continues the same change (same
// id and message id), looking in the stream before it publishes again, so
// the change is queued once even past the stream's duplicates window.
func (q *Queue) Enqueue(ctx context.Context, req Request) (change.Record, bool, error) {
	hash, err := requestHash(req)
	if err != nil {
		return change.Record{}, false, fmt.Errorf("%w: %w", ErrNotQueued, err)
	}
	msg := newMessage(req, q.newID(), q.now().UTC())
	if req.IdempotencyKey == "" {
		if err := q.markAndPublish(ctx, msg, req.TraceParent); err != nil {
			return change.Record{}, false, err
		}
		return q.createRecord(ctx, msg)
	}
	kvKey := idempotencyKVKey(req.RequestedBy, req.IdempotencyKey)
	entry, err := json.Marshal(idemEntry{ChangeID: msg.ID, RequestHash: hash, AcceptedAt: msg.AcceptedAt})
	if err != nil {
		return change.Record{}, false, fmt.Errorf("%w: encode idempotency entry: %w", ErrNotQueued, err)
	}
	for range 3 {
		_, err := q.idem.Create(ctx, kvKey, entry)
		switch {
		case errors.Is(err, jetstream.ErrKeyExists):
			rec, created, err := q.replay(ctx, kvKey, hash, req)
			if errors.Is(err, errKeyVanished) {
				continue
			}
			return rec, created, err
		case err != nil:
			// Whether or not the key was stored, no message was sent; a key
			// left behind only makes a retry continue under this id.
			return change.Record{}, false, fmt.Errorf("%w: remember idempotency key: %w", ErrNotQueued, err)
		}
		if err := q.markAndPublish(ctx, msg, req.TraceParent); err != nil {
			return change.Record{}, false, err
		}
		return q.createRecord(ctx, msg)
	}
	return change.Record{}, false, fmt.Errorf("%w: idempotency key kept expiring", ErrNotQueued)
}

// replay continues the change an Idempotency-Key already names: it returns
// its record, or finishes what the first call left undone (publish, index,
// record) under the same change id.
func (q *Queue) replay(ctx context.Context, kvKey, hash string, req Request) (change.Record, bool, error) {
	e, err := q.idem.Get(ctx, kvKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return change.Record{}, false, errKeyVanished
	}
	if err != nil {
		return change.Record{}, false, fmt.Errorf("%w: read idempotency key: %w", ErrMaybeQueued, err)
	}
	var old idemEntry
	if err := json.Unmarshal(e.Value(), &old); err != nil {
		return change.Record{}, false, fmt.Errorf("%w: decode idempotency entry: %w", ErrMaybeQueued, err)
	}
	if old.RequestHash != hash {
		return change.Record{}, false, ErrIdempotencyConflict
	}
	if rec, found, err := q.getRecord(ctx, old.ChangeID); err != nil || found {
		return rec, false, err
	}
	msg := newMessage(req, old.ChangeID, old.AcceptedAt)
	// The stream first, then the record again: a worker writes the record
	// before it acknowledges (removes) the message, so a message gone from
	// the stream shows in the record read after.
	seq, err := q.stored(ctx, msg)
	if err != nil {
		return change.Record{}, false, fmt.Errorf("%w: %w", ErrMaybeQueued, err)
	}
	if rec, found, err := q.getRecord(ctx, old.ChangeID); err != nil || found {
		return rec, false, err
	}
	if seq == 0 {
		if err := q.markAndPublish(ctx, msg, req.TraceParent); err != nil {
			return change.Record{}, false, err
		}
	}
	return q.createRecord(ctx, msg)
}

// getRecord reads a record; found is false when there is none. Its error
// wraps ErrMaybeQueued.
func (q *Queue) getRecord(ctx context.Context, id string) (change.Record, bool, error) {
	rec, _, err := q.records.Get(ctx, id)
	switch {
	case err == nil:
		return rec, true, nil
	case errors.Is(err, records.ErrNotFound):
		return change.Record{}, false, nil
	default:
		return change.Record{}, false, fmt.Errorf("%w: %w", ErrMaybeQueued, err)
	}
}

// markAndPublish notes msg as its resource's latest change, then publishes
// it. Its error wraps ErrNotQueued or ErrMaybeQueued.
func (q *Queue) markAndPublish(ctx context.Context, msg change.Message, traceparent string) error {
	if err := q.markLatest(ctx, msg); err != nil {
		return fmt.Errorf("%w: %w", ErrNotQueued, err)
	}
	return q.publish(ctx, msg, traceparent)
}

// createRecord creates the queued record of a stored message, trying again
// while ctx allows; created is false when the record already existed (a
// racing identical request or a worker created it).
func (q *Queue) createRecord(ctx context.Context, msg change.Message) (change.Record, bool, error) {
	rec := change.NewRecord(msg)
	var err error
	for _, wait := range q.recordBackoff {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return change.Record{}, false, fmt.Errorf("%w: %s queued, not recorded: %w", ErrMaybeQueued, msg.ID, err)
			case <-t.C:
			}
		}
		_, err = q.records.Create(ctx, rec)
		if err == nil {
			return rec, true, nil
		}
		if errors.Is(err, records.ErrExists) {
			cur, found, gerr := q.getRecord(ctx, msg.ID)
			if gerr == nil && found {
				return cur, false, nil
			}
			err = errors.Join(err, gerr)
		}
		q.logger.Warn("change record not written; trying again", "change_id", msg.ID, "error", err)
	}
	return change.Record{}, false, fmt.Errorf("%w: %s queued, not recorded: %w", ErrMaybeQueued, msg.ID, err)
}

// newMessage is the generation-0 message of a request.
func newMessage(req Request, id string, acceptedAt time.Time) change.Message {
	return change.Message{
		ID: id, Operation: req.Operation, Resource: req.Resource, Body: req.Body,
		RequestedBy: req.RequestedBy, IdempotencyKey: req.IdempotencyKey, AcceptedAt: acceptedAt,
		ClientAddress: req.ClientAddress, Reason: req.Reason, Ticket: req.Ticket,
	}
}
