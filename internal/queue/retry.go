package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
)

// RetryRequest is an operator's retry of a failed change.
type RetryRequest struct {
	// ID is the change to retry.
	ID string
	// By is the caller asking, recorded on the record.
	By string
	// Force retries even when a newer change to the resource was accepted.
	Force       bool
	TraceParent string
}

// Retry re-queues a failed change as its next generation: it notes the
// change as its resource's latest and publishes the generation's message
// (Nats-Msg-Id "<id>.g<generation>"), unless an earlier attempt stored it,
// then moves the record to the generation with compare-and-swap
// (change.Record.Requeue, which appends the retry to Retries).
//
// Repeating a retry whose outcome was unknown (ErrMaybeQueued) re-queues the
// same generation, never a second one: the record stays failed at the old
// generation until the new one is in, and the stream is searched before a
// publish. A worker that receives the message while the record is still
// failed applies the same Requeue (see README "Operator retries").
//
// Errors: records.ErrNotFound; ErrNotFailed (with the current record);
// *StaleError (ErrStale) when a newer change to the resource was accepted
// and r.Force is not set; ErrNotQueued or ErrMaybeQueued otherwise.
func (q *Queue) Retry(ctx context.Context, r RetryRequest) (change.Record, error) {
	rec, _, err := q.records.Get(ctx, r.ID)
	if errors.Is(err, records.ErrNotFound) {
		return change.Record{}, err
	}
	if err != nil {
		return change.Record{}, fmt.Errorf("%w: %w", ErrNotQueued, err)
	}
	if rec.State != change.StateFailed {
		return rec, ErrNotFailed
	}
	if !r.Force {
		if err := q.checkStale(ctx, rec); err != nil {
			return rec, err
		}
	}
	body, err := q.records.Payload(ctx, rec.ID)
	if err != nil {
		return change.Record{}, fmt.Errorf("%w: retry %s: request body: %w", ErrNotQueued, rec.ID, err)
	}
	rt := change.Retry{By: r.By, At: q.now().UTC(), Forced: r.Force, Generation: rec.Generation + 1}
	msg := retryMessage(rec, body, rt)
	seq, err := q.stored(ctx, msg)
	if err != nil {
		return change.Record{}, fmt.Errorf("%w: %w", ErrNotQueued, err)
	}
	// Read again after looking in the stream (see Queue.stored).
	cur, rev, err := q.records.Get(ctx, r.ID)
	switch {
	case err != nil:
		return change.Record{}, fmt.Errorf("%w: %w", ErrNotQueued, err)
	case cur.Generation >= rt.Generation:
		return cur, nil // this generation is in: a concurrent retry or a worker moved it
	case cur.State != change.StateFailed:
		return cur, ErrNotFailed
	}
	if seq == 0 {
		if err := q.markAndPublish(ctx, msg, r.TraceParent); err != nil {
			return cur, err
		}
	}
	return q.requeue(ctx, cur, rev, rt)
}

// requeue moves the record to rt's generation with compare-and-swap.
func (q *Queue) requeue(ctx context.Context, cur change.Record, rev uint64, rt change.Retry) (change.Record, error) {
	for range 5 {
		next := cur
		if !next.Requeue(rt) {
			if cur.Generation >= rt.Generation {
				return cur, nil
			}
			// A failed record is terminal: nothing else moves it.
			return cur, fmt.Errorf("%w: %s is %s at generation %d", ErrMaybeQueued, cur.ID, cur.State, cur.Generation)
		}
		_, err := q.records.Update(ctx, next, rev)
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, records.ErrConflict) {
			return cur, fmt.Errorf("%w: %s re-queued, record not updated: %w", ErrMaybeQueued, cur.ID, err)
		}
		if cur, rev, err = q.records.Get(ctx, cur.ID); err != nil {
			return cur, fmt.Errorf("%w: %s re-queued, record not read: %w", ErrMaybeQueued, cur.ID, err)
		}
	}
	return cur, fmt.Errorf("%w: %s re-queued, record kept changing", ErrMaybeQueued, cur.ID)
}

// checkStale returns a *StaleError when a change other than rec was noted
// last for rec's resource: re-applying rec's older body would undo it. The
// note precedes the publish, so it may name a change whose publish failed
// (its record is then missing): that still refuses, on the safe side; the
// operator can force.
func (q *Queue) checkStale(ctx context.Context, rec change.Record) error {
	l, found, err := q.latest(ctx, rec.Resource)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotQueued, err)
	}
	if !found || l.ChangeID == rec.ID {
		return nil
	}
	se := &StaleError{Newer: l.ChangeID}
	if newer, _, err := q.records.Get(ctx, l.ChangeID); err == nil {
		se.NewerState = newer.State
	}
	return se
}

// retryMessage is the message of the generation rt queues.
func retryMessage(rec change.Record, body []byte, rt change.Retry) change.Message {
	m := rec.Message(body)
	m.Generation, m.Retry = rt.Generation, &rt
	return m
}
