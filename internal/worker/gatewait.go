package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/retry"
)

// RetryReasonGate is the retries_total reason of a change handed back
// because the fleet-wide rate-limit gate was closed (or its next slot too far).
const RetryReasonGate = "rate_limit_gate"

// passGate waits for the fleet-wide rate-limit gate. Short waits (a
// reserved slot within the gate's horizon) are slept here, holding only this
// lane; a longer wait hands the change back to JetStream with a delay, so no
// goroutine or lane is held, and records it as retrying. A rate-limit wait
// is not an attempt and uses none of the error budget.
func (w *Worker) passGate(ctx context.Context, msg jetstream.Msg, cur current, traceparent string, log *slog.Logger) (handedBack bool, err error) {
	cred := w.deps.Upstream.CredentialID()
	var retryAt time.Time
	for {
		d, err := w.deps.Gate.Reserve(ctx, cred)
		if err != nil {
			return false, err
		}
		if d.Reserved {
			if err := w.sleepUntil(ctx, d.SendAt); err != nil {
				return false, err
			}
			// A 429 seen elsewhere while we slept closes the gate for everyone.
			blocked := w.deps.Gate.Blocked(cred)
			if blocked.IsZero() {
				return false, nil
			}
			retryAt = blocked
			break
		}
		// A cold gate waiting for its probe's answer asks again shortly:
		// cheaper than handing the change back.
		if !d.Blocked && d.RetryAt.Sub(w.deps.Now()) <= shortGateWait {
			if err := w.sleepUntil(ctx, d.RetryAt); err != nil {
				return false, err
			}
			continue
		}
		retryAt = d.RetryAt
		break
	}
	wait := max(retryAt.Sub(w.deps.Now()), 10*time.Millisecond)
	next := w.deps.Now().UTC().Add(wait)
	cur, err = w.update(ctx, cur, func(r *change.Record) {
		r.State = change.StateRetrying
		r.NextAttemptAt = &next
		r.RetryReason = retry.ReasonRateLimited
		r.UpdatedAt = w.deps.Now().UTC()
	})
	if err != nil {
		return false, err
	}
	if err := w.deps.Events.Publish(ctx, cur.rec, traceparent); err != nil {
		return false, err
	}
	w.deps.Metrics.Retries.WithLabelValues(RetryReasonGate).Inc()
	log.Info("rate-limit gate closed; change handed back", "wait", wait)
	return true, msg.NakWithDelay(wait)
}

// shortGateWait is the longest non-Retry-After gate wait slept in-line
// without a reservation.
const shortGateWait = time.Second

// sleepUntil waits until t (or ctx ends), recording the in-line gate wait.
func (w *Worker) sleepUntil(ctx context.Context, t time.Time) error {
	wait := t.Sub(w.deps.Now())
	if wait <= 0 {
		return nil
	}
	w.deps.Metrics.GateWait.Observe(wait.Seconds())
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
