package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// errLost wraps the reason a delivery lost its change (lease ran out, a
// later delivery or generation owns the record, the record is terminal):
// such a delivery is dropped without any further write, publish, ack or nak.
type errLost struct{ cause error }

func (e *errLost) Error() string { return "delivery lost the change: " + e.cause.Error() }
func (e *errLost) Unwrap() error { return e.cause }

func lost(cause error) error { return &errLost{cause} }

// job is one delivery being processed.
type job struct {
	w     *Worker
	d     Delivery
	l     *lease
	m     change.Message
	owner change.Owner
	tp    string
	log   *slog.Logger
}

// handle processes one delivery. ctx bounds the work (it outlives the
// worker's run context by the shutdown grace); run is the worker's run
// context, used to hand back changes received while stopping.
func (w *Worker) handle(ctx, run context.Context, d Delivery, pulledAt time.Time) {
	l := newLease(ctx, d, pulledAt, w.cfg.AckWait)
	defer l.stop()
	safety := w.cfg.safety()
	var m change.Message
	if err := json.Unmarshal(d.Data(), &m); err != nil || !change.ValidID(m.ID) {
		// Not something our intake wrote; keep it out of the queue for good.
		w.deps.Logger.Error("undecodable change message terminated", "seq", d.Seq(), "error", err)
		if l.ok(safety) {
			_ = d.Term()
		}
		return
	}
	log := w.deps.Logger.With("change_id", m.ID, "operation", m.Operation, "resource", m.Resource.Path,
		"seq", d.Seq(), "delivery", d.NumDelivered())
	// Only a well-formed W3C traceparent travels on (to the upstream call
	// and the result events).
	tp := tracectx.Clean(d.Header(tracectx.Header))
	if id := tracectx.TraceID(tp); id != "" {
		log = log.With("trace_id", id)
	}
	if run.Err() != nil {
		// Received while stopping: hand it back at once.
		if l.ok(safety) {
			_ = d.Nak(0)
		}
		return
	}
	// Prove the delivery is ours before anything else.
	if err := l.renew(l.ctx); err != nil {
		log.Warn("delivery not confirmed; dropped", "error", err)
		return
	}
	go l.keepAlive(w.cfg.AckWait / 4)
	j := &job{w: w, d: d, l: l, m: m, owner: change.Owner{Seq: d.Seq(), Delivery: d.NumDelivered()}, tp: tp, log: log}
	err := j.run(l.ctx)
	var le *errLost
	switch {
	case err == nil:
	case errors.As(err, &le) || errors.Is(err, ErrLeaseLost):
		log.Warn("change lost to another delivery or lease expired; dropped without writing, publishing, acking or naking", "reason", err)
	default:
		// Infrastructure trouble (NATS): hand the change back; the record
		// tells the next delivery where we were.
		log.Error("change processing interrupted; will be redelivered", "error", err)
		if l.ok(safety) {
			_ = d.Nak(time.Second)
		}
	}
}

// guard fails unless the lease has at least the safety margin left.
func (j *job) guard() error {
	if !j.l.ok(j.w.cfg.safety()) {
		return lost(ErrLeaseLost)
	}
	return nil
}

func (j *job) run(ctx context.Context) error {
	// Order: only the first queued change of the resource runs.
	seq, head, err := j.w.deps.Heads.Head(ctx, j.m.Resource)
	if errors.Is(err, topology.ErrNoHead) {
		return lost(fmt.Errorf("change %d no longer queued", j.owner.Seq))
	}
	if err != nil {
		return err
	}
	if seq != j.owner.Seq {
		return j.waitBehind(ctx, seq, head)
	}
	cur, err := j.load(ctx)
	if err != nil {
		return err
	}
	gen := j.m.Generation
	switch {
	case gen < cur.rec.Generation:
		j.log.Info("stale delivery of an earlier generation acknowledged", "generation", gen)
		return j.ack(ctx)
	case gen == cur.rec.Generation && cur.rec.State.Terminal():
		return j.finishTerminal(ctx, cur)
	case gen == cur.rec.Generation && !cur.rec.MayAct(gen, j.owner):
		return lost(change.ErrNotOwner)
	}
	handedBack, cur, err := j.passGate(ctx, cur)
	if handedBack || err != nil {
		return err
	}
	// Fence: start the call only on a freshly confirmed lease that outlasts it.
	if err := j.l.renew(ctx); err != nil {
		return lost(err)
	}
	if need := j.w.cfg.CallTimeout + j.w.cfg.safety(); !j.l.ok(need) {
		j.log.Warn("lease too short for an upstream call; handing the change back", "remaining", j.l.remaining(), "need", need)
		if err := j.guard(); err != nil {
			return err
		}
		return j.d.Nak(100 * time.Millisecond)
	}
	now := j.w.deps.Now().UTC()
	var attempt change.Attempt
	cur, err = j.update(ctx, cur, func(r *change.Record) error {
		if err := j.adopt(r, now); err != nil {
			return err
		}
		a, err := r.StartAttempt(gen, j.owner, now)
		attempt = a
		return err
	})
	if err != nil {
		return err
	}
	j.log = j.log.With("attempt", attempt.Number)
	return j.attempt(ctx, cur, attempt)
}

// adopt moves r to the message's generation when the message is newer.
func (j *job) adopt(r *change.Record, now time.Time) error {
	if j.m.Generation > r.Generation {
		return r.Adopt(j.m, now)
	}
	return nil
}

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

// waitBehind hands a change back while an earlier change of its resource
// (head, at sequence seq) is queued: until the head's next attempt when it
// waits for one, else shortly, with jitter.
func (j *job) waitBehind(ctx context.Context, seq uint64, head []byte) error {
	delay := behindDelay + time.Duration(rand.Int64N(int64(behindDelay)))
	var hm change.Message
	if err := json.Unmarshal(head, &hm); err == nil && change.ValidID(hm.ID) {
		if rec, _, err := j.w.deps.Records.Get(ctx, hm.ID); err == nil && rec.NextAttemptAt != nil {
			if until := rec.NextAttemptAt.Sub(j.w.deps.Now()); until > delay {
				delay = until + time.Duration(rand.Int64N(int64(behindDelay)))
			}
		}
	}
	j.log.Debug("waiting behind an earlier change of the resource", "head_seq", seq, "delay", delay)
	if err := j.guard(); err != nil {
		return err
	}
	return j.d.Nak(delay)
}

// behindDelay is the base delay of a change handed back behind its
// resource's running head.
const behindDelay = 100 * time.Millisecond

// call runs the upstream request, bounded by the call timeout and the lease.
func (j *job) call(ctx context.Context) (*ccloud.Response, error) {
	ctx, cancel := context.WithTimeout(ccloud.WithTraceParent(ctx, j.tp), j.w.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	resp, err := j.w.deps.Upstream.Do(ctx, ccloud.Operation(j.m.Operation), j.m.Resource.ID, j.m.Body)
	j.w.deps.Metrics.UpstreamDuration.WithLabelValues(j.m.Operation).Observe(time.Since(start).Seconds())
	return resp, err
}

// load reads the record, or creates it from the message if the intake did
// not get to record it.
func (j *job) load(ctx context.Context) (current, error) {
	store := j.w.deps.Records
	rec, rev, err := store.Get(ctx, j.m.ID)
	if err == nil {
		return current{rec, rev}, nil
	}
	if !errors.Is(err, records.ErrNotFound) {
		return current{}, err
	}
	if err := j.guard(); err != nil {
		return current{}, err
	}
	rec = change.NewRecord(j.m)
	rev, err = store.Create(ctx, rec)
	if errors.Is(err, records.ErrExists) {
		rec, rev, err = store.Get(ctx, j.m.ID)
	}
	if err != nil {
		return current{}, err
	}
	return current{rec, rev}, nil
}

// update applies fn to a copy of the record and stores it with
// compare-and-swap. On a conflict it re-reads the record and applies fn
// again: fn is a record transition, which refuses when the re-read record
// is no longer this delivery's to change (a later owner, a terminal state,
// another generation), so a stale update is never re-applied. A refusal
// means the change is lost to this delivery.
func (j *job) update(ctx context.Context, cur current, fn func(*change.Record) error) (current, error) {
	store := j.w.deps.Records
	for range 5 {
		if err := j.guard(); err != nil {
			return cur, err
		}
		next := cur.rec
		if err := fn(&next); err != nil {
			return cur, lost(err)
		}
		rev, err := store.Update(ctx, next, cur.rev)
		if err == nil {
			return current{next, rev}, nil
		}
		if !errors.Is(err, records.ErrConflict) {
			return cur, err
		}
		rec, rev, err := store.Get(ctx, cur.rec.ID)
		if err != nil {
			return cur, err
		}
		cur = current{rec, rev}
	}
	return cur, fmt.Errorf("worker: record %s: %w", cur.rec.ID, records.ErrConflict)
}
