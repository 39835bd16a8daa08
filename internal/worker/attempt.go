package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
)

// attempt runs the upstream call of a claimed attempt and concludes it.
func (j *job) attempt(ctx context.Context, cur current, attempt change.Attempt) error {
	w, m, gen := j.w, j.m, j.m.Generation
	if h := w.deps.Hooks.BeforeCall; h != nil {
		j.l.freeze(func() { h(m.ID) })
	}
	// Last check, right before the request goes out: a pause since the
	// claim may have eaten the lease.
	if need := w.cfg.CallTimeout + w.cfg.safety(); !j.l.ok(need) {
		if err := j.guard(); err != nil {
			return err
		}
		j.log.Warn("lease too short for an upstream call; handing the change back", "remaining", j.l.remaining(), "need", need)
		return j.d.Nak(0)
	}
	resp, callErr := j.call(ctx)
	if resp != nil {
		if resp.RateLimit.HasRemaining {
			w.deps.Metrics.SetRateLimitRemaining(resp.RateLimit.Remaining)
		}
		// Tell the fleet first: a 429 must stop the other workers at once.
		// (Fleet knowledge, not the change's: told even if the lease is lost.)
		if err := w.deps.Gate.Observe(context.WithoutCancel(ctx), w.deps.Upstream.CredentialID(), resp.Status, resp.RateLimit, w.cfg.Policy.DefaultRateLimitWait); err != nil {
			j.log.Warn("rate-limit gate not updated", "error", err)
		}
	}
	if h := w.deps.Hooks.AfterCall; h != nil {
		j.l.freeze(func() { h(m.ID) })
	}
	if err := j.guard(); err != nil {
		return err
	}
	if ctx.Err() != nil && callErr != nil {
		// Shutting down past the grace period: the attempt did not conclude.
		return fmt.Errorf("call interrupted: %w", ctx.Err())
	}
	fillAttempt(&attempt, resp, callErr)
	status := "error"
	if resp != nil {
		status = strconv.Itoa(resp.Status)
		j.log = j.log.With("upstream_request_id", resp.RequestID, "status", resp.Status)
	}
	w.deps.Metrics.Upstream.WithLabelValues(m.Operation, status).Inc()
	now := attempt.StartedAt
	decision := w.cfg.Policy.Decide(callErr, retry.History{
		ErrorAttempts: errorAttempts(cur.rec.Attempts[:len(cur.rec.Attempts)-1], gen) + boolInt(isErrorAttempt(callErr)),
		AcceptedAt:    cur.rec.QueuedAt,
	}, now)
	done := w.deps.Now().UTC()
	if decision.Outcome == retry.Fail {
		// Keep the body so an operator can retry the change later.
		if err := j.guard(); err != nil {
			return err
		}
		if err := w.deps.Records.SavePayload(ctx, m.ID, m.Body); err != nil {
			return err
		}
	}
	var result json.RawMessage
	if decision.Outcome == retry.Succeed {
		result = redact.JSON(resp.Body) // once, not on every compare-and-swap retry
	}
	cur, err := j.update(ctx, cur, func(r *change.Record) error {
		switch decision.Outcome {
		case retry.Succeed:
			return r.Succeed(gen, j.owner, attempt, result, done)
		case retry.Fail:
			return r.Fail(gen, j.owner, attempt, failure(resp, callErr, decision, len(r.Attempts)), done)
		default:
			return r.ScheduleRetry(gen, j.owner, attempt, done.Add(decision.Wait), decision.Reason, done)
		}
	})
	if err != nil {
		return err
	}
	if attempt.Error != nil {
		// The code only: details may echo request data.
		j.log = j.log.With("error_code", attempt.Error.Code)
	}
	if decision.Outcome == retry.Retry {
		if err := j.publish(ctx, cur.rec); err != nil {
			return err
		}
		w.deps.Metrics.Retries.WithLabelValues(decision.Reason).Inc()
		j.log.Info("change will be retried", "reason", decision.Reason, "wait", decision.Wait)
		if err := j.guard(); err != nil {
			return err
		}
		return j.d.Nak(decision.Wait)
	}
	outcome := string(cur.rec.State)
	w.deps.Metrics.Completed.WithLabelValues(m.Operation, outcome).Inc()
	w.deps.Metrics.EndToEnd.WithLabelValues(m.Operation, outcome).Observe(done.Sub(cur.rec.AcceptedAt).Seconds())
	if decision.Outcome == retry.Fail {
		if decision.GaveUp != "" {
			j.log = j.log.With("gave_up", decision.GaveUp)
		}
		j.log.Warn("change failed", "state", outcome)
	} else {
		j.log.Info("change completed", "state", outcome)
	}
	return j.finishTerminal(ctx, cur)
}

// finishTerminal publishes the terminal event unless the record says it
// was published, marks it, and acks.
func (j *job) finishTerminal(ctx context.Context, cur current) error {
	id := events.ID(cur.rec)
	if cur.rec.TerminalEvent != id {
		if err := j.publish(ctx, cur.rec); err != nil {
			return err
		}
		gen := cur.rec.Generation
		var err error
		cur, err = j.update(ctx, cur, func(r *change.Record) error {
			if r.Generation != gen {
				return change.ErrStaleGeneration
			}
			return r.MarkTerminalEvent(id)
		})
		if err != nil {
			return err
		}
	}
	return j.ack(ctx)
}

func (j *job) publish(ctx context.Context, rec change.Record) error {
	if err := j.guard(); err != nil {
		return err
	}
	return j.w.deps.Events.Publish(ctx, rec, j.tp)
}

func (j *job) ack(ctx context.Context) error {
	if err := j.guard(); err != nil {
		return err
	}
	return j.d.Ack(ctx)
}

// call runs the upstream request, bounded by the call timeout and the lease.
func (j *job) call(ctx context.Context) (*ccloud.Response, error) {
	ctx, cancel := context.WithTimeout(ccloud.WithTraceParent(ctx, j.tp), j.w.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	resp, err := j.w.deps.Upstream.Do(ctx, ccloud.Operation(j.m.Operation), j.m.Resource.ID, j.m.Body)
	j.w.deps.Metrics.UpstreamDuration.WithLabelValues(j.m.Operation).Observe(time.Since(start).Seconds())
	return resp, err
}
