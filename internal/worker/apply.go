package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/internal/records"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// current is a record with the revision it was read or written at.
type current struct {
	rec change.Record
	rev uint64
}

// handle handles one delivery of a change. It never panics on bad input
// and always ends by acking, naking with a delay, or terminating the message.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	var m change.Message
	if err := json.Unmarshal(msg.Data(), &m); err != nil || !change.ValidID(m.ID) {
		// Not something our intake wrote; keep it out of the lane for good.
		w.deps.Logger.Error("undecodable change message terminated", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	log := w.deps.Logger.With("change_id", m.ID, "operation", m.Operation, "resource", m.Resource.Path)
	// Only a well-formed W3C traceparent travels on (to the upstream call
	// and the result events).
	traceparent := tracectx.Clean(msg.Headers().Get(tracectx.Header))
	if id := tracectx.TraceID(traceparent); id != "" {
		log = log.With("trace_id", id)
	}
	if err := w.apply(ctx, msg, m, traceparent, log); err != nil {
		// Infrastructure trouble (NATS): leave the message unacked; it comes
		// back after AckWait and the record tells the next worker where we were.
		log.Error("change processing interrupted; will be redelivered", "error", err)
		_ = msg.NakWithDelay(time.Second)
	}
}

func (w *Worker) apply(ctx context.Context, msg jetstream.Msg, m change.Message, traceparent string, log *slog.Logger) error {
	cur, err := w.load(ctx, m)
	if err != nil {
		return err
	}
	switch {
	case m.Generation < cur.rec.Generation:
		log.Info("stale delivery of an earlier generation acknowledged", "generation", m.Generation)
		return msg.Ack()
	case m.Generation > cur.rec.Generation:
		// An operator retry published this generation but has not moved the
		// record yet (its acknowledgement was late, or the api stopped):
		// move it here, as the api would have (queue.Queue.Retry).
		if m.Retry == nil || m.Retry.Generation != m.Generation {
			log.Error("newer generation without its retry terminated", "generation", m.Generation)
			return msg.Term()
		}
		if cur, err = w.update(ctx, cur, func(r *change.Record) { r.Requeue(*m.Retry) }); err != nil {
			return err
		}
		if cur.rec.Generation != m.Generation {
			return fmt.Errorf("record %s at generation %d, message at %d", m.ID, cur.rec.Generation, m.Generation)
		}
	}
	switch {
	case cur.rec.State.Terminal():
		// A previous delivery finished but crashed before its ack: make sure
		// the terminal event exists (JetStream de-duplicates it) and ack.
		if err := w.deps.Events.Publish(ctx, cur.rec, traceparent); err != nil {
			return err
		}
		return msg.Ack()
	}

	op := ccloud.Operation(m.Operation)
	lease := w.keepLease(msg)
	defer lease()
	if handedBack, err := w.passGate(ctx, msg, cur, traceparent, log); handedBack || err != nil {
		return err
	}
	now := w.deps.Now().UTC()
	attempt := change.Attempt{Number: len(cur.rec.Attempts) + 1, StartedAt: now, Generation: cur.rec.Generation}
	log = log.With("attempt", attempt.Number)
	cur, err = w.update(ctx, cur, func(r *change.Record) {
		r.State = change.StateRunning
		r.Attempts = append(r.Attempts, attempt)
		r.UpdatedAt = now
		r.NextAttemptAt = nil
	})
	if err != nil {
		return err
	}

	resp, callErr := w.call(ccloud.WithTraceParent(ctx, traceparent), op, m)
	if resp != nil {
		if resp.RateLimit.HasRemaining {
			w.deps.Metrics.SetRateLimitRemaining(resp.RateLimit.Remaining)
		}
		// Tell the fleet first: a 429 must stop the other workers at once.
		if err := w.deps.Gate.Observe(ctx, w.deps.Upstream.CredentialID(), resp.Status, resp.RateLimit, w.cfg.Policy.DefaultRateLimitWait); err != nil {
			log.Warn("rate-limit gate not updated", "error", err)
		}
	}
	if ctx.Err() != nil && callErr != nil {
		// Shutting down past the grace period: the attempt did not conclude.
		return fmt.Errorf("call interrupted: %w", ctx.Err())
	}
	fillAttempt(&attempt, resp, callErr)
	status := "error"
	if resp != nil {
		status = strconv.Itoa(resp.Status)
		log = log.With("upstream_request_id", resp.RequestID, "status", resp.Status)
	}
	w.deps.Metrics.Upstream.WithLabelValues(m.Operation, status).Inc()

	decision := w.cfg.Policy.Decide(callErr, retry.History{
		ErrorAttempts: errorAttempts(cur.rec.Attempts[:len(cur.rec.Attempts)-1], cur.rec.Generation) + boolInt(isErrorAttempt(callErr)),
		AcceptedAt:    cur.rec.QueuedAt,
	}, now)
	done := w.deps.Now().UTC()
	if decision.Outcome == retry.Fail {
		// Keep the body so an operator can retry the change later.
		if err := w.deps.Records.SavePayload(ctx, m.ID, m.Body); err != nil {
			return err
		}
	}
	var result json.RawMessage
	if decision.Outcome == retry.Succeed {
		result = redact.JSON(resp.Body) // once, not on every compare-and-swap retry
	}
	cur, err = w.update(ctx, cur, func(r *change.Record) {
		r.Attempts[len(r.Attempts)-1] = attempt
		r.UpdatedAt = done
		switch decision.Outcome {
		case retry.Succeed:
			r.State = change.StateSucceeded
			r.Result = result
			r.CompletedAt = &done
		case retry.Fail:
			r.State = change.StateFailed
			r.Error = failure(resp, callErr, decision, len(r.Attempts))
			r.CompletedAt = &done
		case retry.Retry:
			next := done.Add(decision.Wait)
			r.State = change.StateRetrying
			r.NextAttemptAt = &next
			r.RetryReason = decision.Reason
			r.Attempts[len(r.Attempts)-1].RetryAfter = decision.Wait.Round(time.Millisecond).String()
		}
	})
	if err != nil {
		return err
	}
	if err := w.deps.Events.Publish(ctx, cur.rec, traceparent); err != nil {
		return err
	}
	if attempt.Error != nil {
		// The code only: details may echo request data.
		log = log.With("error_code", attempt.Error.Code)
	}
	if decision.Outcome == retry.Retry {
		w.deps.Metrics.Retries.WithLabelValues(decision.Reason).Inc()
		log.Info("change will be retried", "reason", decision.Reason, "wait", decision.Wait)
		return msg.NakWithDelay(decision.Wait)
	}
	outcome := string(cur.rec.State)
	w.deps.Metrics.Completed.WithLabelValues(m.Operation, outcome).Inc()
	w.deps.Metrics.EndToEnd.WithLabelValues(m.Operation, outcome).Observe(done.Sub(cur.rec.AcceptedAt).Seconds())
	if decision.Outcome == retry.Fail {
		if decision.GaveUp != "" {
			log = log.With("gave_up", decision.GaveUp)
		}
		log.Warn("change failed", "state", outcome)
	} else {
		log.Info("change completed", "state", outcome)
	}
	return msg.Ack()
}

// keepLease heart-beats the message (InProgress) until the returned stop
// function is called, so no other worker receives it meanwhile.
func (w *Worker) keepLease(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(w.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// call runs the upstream request.
func (w *Worker) call(ctx context.Context, op ccloud.Operation, m change.Message) (*ccloud.Response, error) {
	start := time.Now()
	resp, err := w.deps.Upstream.Do(ctx, op, m.Resource.ID, m.Body)
	w.deps.Metrics.UpstreamDuration.WithLabelValues(m.Operation).Observe(time.Since(start).Seconds())
	return resp, err
}

// load reads the record, or creates it from the message if the intake did
// not get to record it.
func (w *Worker) load(ctx context.Context, m change.Message) (current, error) {
	rec, rev, err := w.deps.Records.Get(ctx, m.ID)
	if err == nil {
		return current{rec, rev}, nil
	}
	if !errors.Is(err, records.ErrNotFound) {
		return current{}, err
	}
	rec = change.NewRecord(m)
	rev, err = w.deps.Records.Create(ctx, rec)
	if errors.Is(err, records.ErrExists) {
		rec, rev, err = w.deps.Records.Get(ctx, m.ID)
	}
	if err != nil {
		return current{}, err
	}
	return current{rec, rev}, nil
}

// update applies fn to the record and stores it with compare-and-swap,
// re-reading and re-applying on a conflict.
func (w *Worker) update(ctx context.Context, cur current, fn func(*change.Record)) (current, error) {
	for i := 0; i < 5; i++ {
		next := cur.rec
		next.Attempts = append([]change.Attempt(nil), cur.rec.Attempts...)
		fn(&next)
		rev, err := w.deps.Records.Update(ctx, next, cur.rev)
		if err == nil {
			return current{next, rev}, nil
		}
		if !errors.Is(err, records.ErrConflict) {
			return cur, err
		}
		rec, rev, gerr := w.deps.Records.Get(ctx, cur.rec.ID)
		if gerr != nil {
			return cur, gerr
		}
		cur = current{rec, rev}
	}
	return cur, fmt.Errorf("worker: record %s: %w", cur.rec.ID, records.ErrConflict)
}

func fillAttempt(a *change.Attempt, resp *ccloud.Response, err error) {
	if resp != nil {
		a.Status = resp.Status
		a.UpstreamRequestID = resp.RequestID
	}
	if err == nil {
		return
	}
	ae := &change.AttemptError{Code: "upstream_error", Detail: err.Error()}
	if resp != nil && len(resp.Errors) > 0 {
		ae.Code, ae.Detail = resp.Errors[0].Code, resp.Errors[0].Detail
		if ae.Detail == "" {
			ae.Detail = resp.Errors[0].Title
		}
	} else if resp == nil {
		ae.Code = "connection_error"
	}
	ae.Code, ae.Detail = redact.Text(ae.Code), redact.Text(ae.Detail)
	a.Error = ae
}

// failure is the record's error for a failed change.
func failure(resp *ccloud.Response, err error, d retry.Decision, attempts int) *apierror.Error {
	if d.GaveUp != "" {
		return &apierror.Error{
			Status: "503", Code: d.GaveUp, Title: "Gave up retrying",
			Detail: redact.Text(fmt.Sprintf("gave up after %d attempts (%s); last error: %v", attempts, d.GaveUp, err)),
		}
	}
	if resp != nil && len(resp.Errors) > 0 {
		e := redact.APIError(resp.Errors[0])
		if e.Status == "" {
			e.Status = strconv.Itoa(resp.Status)
		}
		return &e
	}
	e := &apierror.Error{Code: "upstream_error", Title: "Upstream request failed", Detail: redact.Text(fmt.Sprint(err))}
	if resp != nil {
		e.Status = strconv.Itoa(resp.Status)
	}
	return e
}

func isErrorAttempt(err error) bool {
	var re *ccloud.RetryableError
	return errors.As(err, &re)
}

// errorAttempts counts earlier attempts that failed with a retryable error
// (not rate limiting) in generation gen.
func errorAttempts(as []change.Attempt, gen int) int {
	n := 0
	for _, a := range as {
		if a.Generation == gen && a.Error != nil && a.Status != 429 {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
