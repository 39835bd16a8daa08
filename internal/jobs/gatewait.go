package jobs

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
	d, err := w.deps.Gate.Reserve(ctx, cred)
	if err != nil {
		return false, err
	}
	retryAt := d.RetryAt
	if d.Reserved {
		if wait := d.SendAt.Sub(w.deps.Now()); wait > 0 {
			w.deps.Metrics.GateWait.Observe(wait.Seconds())
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return false, ctx.Err()
			case <-t.C:
			}
		}
		// A 429 seen elsewhere while we slept closes the gate for everyone.
		blocked := w.deps.Gate.Blocked(cred)
		if blocked.IsZero() {
			return false, nil
		}
		retryAt = blocked
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
