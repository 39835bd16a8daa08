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

// passGate waits for the fleet-wide rate-limit gate and claims the attempt.
// Once the gate reserves a slot, the attempt is claimed on the record
// (starting at the slot) while waiting for it, so that between the slot and
// the request there is only a local check of the gate, no round trip.
// Short waits are slept here, holding one of this worker's slots (the lease
// keeps being renewed meanwhile), for at most one lease in all; a longer
// wait hands the change back to JetStream with a delay, so nothing is held,
// and records it as retrying. (Without the bound, a change that keeps
// losing the race for the next slot to other workers would wait in-line
// for ever.)
// A rate-limit wait is not an error attempt and uses none of the budget; an
// attempt claimed and then not sent because the gate closed meanwhile is
// recorded as not sent.
func (j *job) passGate(ctx context.Context, cur current) (handedBack bool, _ current, _ change.Attempt, err error) {
	w := j.w
	cred := w.deps.Upstream.CredentialID()
	var (
		retryAt time.Time
		attempt change.Attempt
		claimed bool
	)
	inlineUntil := w.deps.Now().Add(w.cfg.AckWait)
	for {
		d, err := w.deps.Gate.Reserve(ctx, cred)
		if err != nil {
			return false, cur, attempt, err
		}
		if d.Reserved {
			cur, attempt, err = j.claim(ctx, cur, d.SendAt)
			if err != nil {
				return false, cur, attempt, err
			}
			claimed = true
			if err := w.sleepUntil(ctx, d.SendAt); err != nil {
				return false, cur, attempt, err
			}
			// A 429 seen elsewhere while we slept closes the gate for everyone.
			blocked := w.deps.Gate.Blocked(cred)
			if blocked.IsZero() {
				return false, cur, attempt, nil
			}
			retryAt = blocked
			break
		}
		// A cold gate waiting for its probe's answer asks again shortly:
		// cheaper than handing the change back.
		if !d.Blocked && d.RetryAt.Sub(w.deps.Now()) <= shortGateWait && d.RetryAt.Before(inlineUntil) {
			if err := w.sleepUntil(ctx, d.RetryAt); err != nil {
				return false, cur, attempt, err
			}
			continue
		}
		retryAt = d.RetryAt
		break
	}
	wait := max(retryAt.Sub(w.deps.Now()), 10*time.Millisecond)
	now := w.deps.Now().UTC()
	next := now.Add(wait)
	gen := j.m.Generation
	cur, err = j.update(ctx, cur, func(r *change.Record) error {
		if claimed {
			a := attempt
			a.Error = &change.AttemptError{Code: notSentCode, Detail: "the fleet-wide rate-limit gate closed before the request was sent"}
			return r.ScheduleRetry(gen, j.owner, a, next, retry.ReasonRateLimited, now)
		}
		if err := j.adopt(r, now); err != nil {
			return err
		}
		j.supersede(r)
		return r.HandBack(gen, j.owner, next, retry.ReasonRateLimited, now)
	})
	if err != nil {
		return false, cur, attempt, err
	}
	if err := j.publish(ctx, cur.rec); err != nil {
		return false, cur, attempt, err
	}
	w.deps.Metrics.Retries.WithLabelValues(RetryReasonGate).Inc()
	j.log.Info("rate-limit gate closed; change handed back", "wait", wait)
	if err := j.guard(); err != nil {
		return false, cur, attempt, err
	}
	return true, cur, attempt, j.d.Nak(wait)
}

// notSentCode is the error code of an attempt claimed but not sent because
// the rate-limit gate closed meanwhile; it does not count as an error
// attempt.
const notSentCode = "not_sent_rate_limit_gate"

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
