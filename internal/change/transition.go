package change

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
)

// Errors returned by the record transitions. The worker steers on them: a
// delivery that gets ErrNotOwner, ErrStaleGeneration or ErrTerminal from a
// transition has lost the change and must not write, publish, ack or nak.
var (
	// ErrTerminal: the record (this generation) is succeeded or failed and
	// never changes state again.
	ErrTerminal = errors.New("change: record is terminal")
	// ErrStaleGeneration: the delivery belongs to an older generation.
	ErrStaleGeneration = errors.New("change: delivery of an older generation")
	// ErrNewerGeneration: the delivery belongs to a generation the record has
	// not adopted yet (call Adopt first).
	ErrNewerGeneration = errors.New("change: delivery of a newer generation")
	// ErrNotOwner: a later delivery owns the record's current attempt, or
	// the caller concludes an attempt it does not hold.
	ErrNotOwner = errors.New("change: record is owned by another delivery")
	// ErrIllegal: the move is not allowed from the record's state.
	ErrIllegal = errors.New("change: illegal transition")
)

// Owner identifies the delivery of a work-queue message that runs a record's
// current attempt: the message's stream sequence and JetStream's delivery
// count. A later delivery of the same message has a larger Delivery; a later
// message (operator retry, republish) a larger Seq.
type Owner struct {
	Seq      uint64 `json:"seq"`
	Delivery uint64 `json:"delivery"`
}

// Before reports whether o is an earlier delivery than p.
func (o Owner) Before(p Owner) bool {
	return o.Seq < p.Seq || o.Seq == p.Seq && o.Delivery < p.Delivery
}

// check is the common guard: the delivery (gen, o) may act on r.
func (r *Record) check(gen int, o Owner) error {
	switch {
	case gen < r.Generation:
		return ErrStaleGeneration
	case gen > r.Generation:
		return ErrNewerGeneration
	case r.State.Terminal():
		return ErrTerminal
	case r.Owner != nil && o.Before(*r.Owner):
		return ErrNotOwner
	}
	return nil
}

// Owns reports whether delivery (gen, o) holds r's running attempt.
func (r *Record) Owns(gen int, o Owner) bool {
	return r.Generation == gen && r.State == StateRunning && r.Owner != nil && *r.Owner == o
}

// MayAct reports whether delivery (gen, o) may still start or hand back an
// attempt of r: same generation, not terminal, no later owner.
func (r *Record) MayAct(gen int, o Owner) bool { return r.check(gen, o) == nil }

// Adopt moves r to the newer generation of message m (the queue is the
// source of truth: a message newer than its record is authoritative). The
// earlier attempts stay; the record is queued again.
func (r *Record) Adopt(m Message, now time.Time) error {
	if m.Generation <= r.Generation {
		return fmt.Errorf("%w: adopt generation %d on a record at %d", ErrIllegal, m.Generation, r.Generation)
	}
	r.reset(m.Generation, now)
	if m.Retry != nil && m.Retry.Generation == m.Generation {
		r.Retries = append(append([]Retry(nil), r.Retries...), *m.Retry)
	}
	return nil
}

func (r *Record) reset(gen int, now time.Time) {
	r.Generation = gen
	r.State = StateQueued
	r.QueuedAt, r.UpdatedAt = now, now
	r.CompletedAt, r.NextAttemptAt = nil, nil
	r.Error, r.Result = nil, nil
	r.RetryReason = ""
	r.Owner = nil
	r.TerminalEvent = ""
}

// StartAttempt claims r for delivery (gen, o) and appends a new running
// attempt, which it returns.
func (r *Record) StartAttempt(gen int, o Owner, now time.Time) (Attempt, error) {
	if err := r.check(gen, o); err != nil {
		return Attempt{}, err
	}
	a := Attempt{Number: len(r.Attempts) + 1, StartedAt: now, Generation: gen}
	r.Attempts = append(append([]Attempt(nil), r.Attempts...), a)
	r.State = StateRunning
	r.Owner = &o
	r.NextAttemptAt = nil
	r.RetryReason = ""
	r.UpdatedAt = now
	return a, nil
}

// conclude checks that (gen, o) holds the running attempt a and stores it.
func (r *Record) conclude(gen int, o Owner, a Attempt, now time.Time) error {
	if err := r.check(gen, o); err != nil {
		return err
	}
	if !r.Owns(gen, o) {
		return fmt.Errorf("%w: conclude an attempt not held (state %s)", ErrNotOwner, r.State)
	}
	n := len(r.Attempts)
	if n == 0 || r.Attempts[n-1].Number != a.Number {
		return fmt.Errorf("%w: attempt %d is not the current one", ErrIllegal, a.Number)
	}
	r.Attempts = append([]Attempt(nil), r.Attempts...)
	r.Attempts[n-1] = a
	r.UpdatedAt = now
	return nil
}

// Succeed concludes the running attempt a as succeeded with the (redacted)
// upstream result.
func (r *Record) Succeed(gen int, o Owner, a Attempt, result json.RawMessage, now time.Time) error {
	if err := r.conclude(gen, o, a, now); err != nil {
		return err
	}
	r.State = StateSucceeded
	r.Result = result
	r.CompletedAt = &now
	r.TerminalEvent = ""
	return nil
}

// Fail concludes the running attempt a as failed with e.
func (r *Record) Fail(gen int, o Owner, a Attempt, e *apierror.Error, now time.Time) error {
	if err := r.conclude(gen, o, a, now); err != nil {
		return err
	}
	r.State = StateFailed
	r.Error = e
	r.CompletedAt = &now
	r.TerminalEvent = ""
	return nil
}

// ScheduleRetry concludes the running attempt a and schedules the next one
// at next for reason.
func (r *Record) ScheduleRetry(gen int, o Owner, a Attempt, next time.Time, reason string, now time.Time) error {
	if next.Before(now) {
		return fmt.Errorf("%w: retry scheduled in the past", ErrIllegal)
	}
	a.RetryAfter = next.Sub(now).Round(time.Millisecond).String()
	if err := r.conclude(gen, o, a, now); err != nil {
		return err
	}
	r.State = StateRetrying
	r.NextAttemptAt = &next
	r.RetryReason = reason
	return nil
}

// HandBack records that delivery (gen, o) handed the change back before an
// attempt (the rate-limit gate is closed) until next. It claims the record.
func (r *Record) HandBack(gen int, o Owner, next time.Time, reason string, now time.Time) error {
	if err := r.check(gen, o); err != nil {
		return err
	}
	r.State = StateRetrying
	r.Owner = &o
	r.NextAttemptAt = &next
	r.RetryReason = reason
	r.UpdatedAt = now
	return nil
}

// MarkTerminalEvent records that the terminal event id of this generation
// was published, so that no redelivery publishes it again.
func (r *Record) MarkTerminalEvent(id string) error {
	if !r.State.Terminal() {
		return fmt.Errorf("%w: mark the terminal event of a %s change", ErrIllegal, r.State)
	}
	r.TerminalEvent = id
	return nil
}

// Message rebuilds the work-queue message of r's current generation; body
// is the kept request body. It is the inverse of NewRecord.
func (r Record) Message(body json.RawMessage) Message {
	return Message{
		ID: r.ID, Operation: r.Operation, Resource: r.Resource, Body: body,
		RequestedBy: r.RequestedBy, ClientAddress: r.ClientAddress, Reason: r.Reason, Ticket: r.Ticket,
		IdempotencyKey: r.IdempotencyKey, AcceptedAt: r.AcceptedAt, Generation: r.Generation,
	}
}
