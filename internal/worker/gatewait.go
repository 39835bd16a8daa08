package worker

import (
	"context"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/retry"
)

// RetryReasonGate is the retries_total reason of a change handed back
// because the fleet-wide rate-limit gate was closed (or its next slot too far).
const RetryReasonGate = "rate_limit_gate"

// passGate waits for the fleet-wide rate-limit gate. Short waits (a
// reserved slot within the gate's horizon) are slept here, holding one of
// this worker's slots (the lease keeps being renewed meanwhile); a longer
// wait hands the change back to JetStream with a delay, so nothing is held,
// and records it as retrying. A rate-limit wait is not an attempt and uses
// none of the error budget.
func (j *job) passGate(ctx context.Context, cur current) (handedBack bool, _ current, err error) {
	w := j.w
	cred := w.deps.Upstream.CredentialID()
	var retryAt time.Time
	for {
		d, err := w.deps.Gate.Reserve(ctx, cred)
		if err != nil {
			return false, cur, err
		}
		if d.Reserved {
			if err := w.sleepUntil(ctx, d.SendAt); err != nil {
				return false, cur, err
			}
			// A 429 seen elsewhere while we slept closes the gate for everyone.
			blocked := w.deps.Gate.Blocked(cred)
			if blocked.IsZero() {
				return false, cur, nil
			}
			retryAt = blocked
			break
		}
		// A cold gate waiting for its probe's answer asks again shortly:
		// cheaper than handing the change back.
		if !d.Blocked && d.RetryAt.Sub(w.deps.Now()) <= shortGateWait {
			if err := w.sleepUntil(ctx, d.RetryAt); err != nil {
				return false, cur, err
			}
			continue
		}
		retryAt = d.RetryAt
		break
	}
	wait := max(retryAt.Sub(w.deps.Now()), 10*time.Millisecond)
	now := w.deps.Now().UTC()
	next := now.Add(wait)
	cur, err = j.update(ctx, cur, func(r *change.Record) error {
		if err := j.adopt(r, now); err != nil {
			return err
		}
		return r.HandBack(j.m.Generation, j.owner, next, retry.ReasonRateLimited, now)
	})
	if err != nil {
		return false, cur, err
	}
	if err := j.publish(ctx, cur.rec); err != nil {
		return false, cur, err
	}
	w.deps.Metrics.Retries.WithLabelValues(RetryReasonGate).Inc()
	j.log.Info("rate-limit gate closed; change handed back", "wait", wait)
	if err := j.guard(); err != nil {
		return false, cur, err
	}
	return true, cur, j.d.Nak(wait)
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
