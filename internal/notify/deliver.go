package notify

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// statusRetry is the wait before an item is tried again when its status
// could not be written.
const statusRetry = time.Second

// deliver makes one attempt of one work item and decides what follows:
// delivered (ack), another try later (NakWithDelay, the item waits in
// JetStream and holds nothing else) or given up (parked, ack).
func (n *Notifier) deliver(ctx context.Context, d Destination, m jetstream.Msg) {
	var it notifyqueue.Item
	var ev events.Event
	if err := json.Unmarshal(m.Data(), &it); err != nil || json.Unmarshal(it.Event, &ev) != nil || it.ChangeID == "" {
		n.logger.Error("notify: undecodable work item dropped", "destination", d.Name(), "error", err)
		_ = m.Term()
		return
	}
	log := n.logger.With("destination", d.Name(), "change_id", it.ChangeID, "event_id", it.EventID)
	meta, err := m.Metadata()
	if err != nil {
		log.Error("notify: work item without metadata", "error", err)
		_ = m.NakWithDelay(statusRetry)
		return
	}
	scope := scopeOf(d, ev)
	if until, paused := n.pace.pausedUntil(scope, n.now()); paused {
		// The receiver asked for quiet: wait without calling (and without
		// spending an attempt), spread a little so the waiting items do not
		// all call at the same instant.
		wait := until.Sub(n.now())
		wait += time.Duration(n.cfg.Jitter() * float64(min(wait/10+100*time.Millisecond, time.Second)))
		if err := n.store.Wait(ctx, it.ChangeID, d.Name(), it.EventID, n.now().Add(wait)); err != nil {
			log.Warn("notify: wait status could not be written", "error", err)
		}
		_ = m.NakWithDelay(wait)
		return
	}

	start := n.now()
	cctx, cancel := context.WithTimeout(ctx, n.cfg.CallTimeout)
	err = d.Deliver(cctx, ev, it.Event)
	cancel()
	now := n.now()
	n.metrics.Duration.WithLabelValues(d.Name()).Observe(now.Sub(start).Seconds())

	st := notifyqueue.Delivery{Destination: d.Name(), EventID: it.EventID, UpdatedAt: now.UTC(),
		LastStatusCode: StatusCode(err), LastErrorCode: ErrorCode(err)}
	if err == nil {
		st.State = notifyqueue.Delivered
		if _, serr := n.store.Record(ctx, it.ChangeID, st, nil); serr != nil {
			log.Warn("notify: delivered, but the status could not be written", "error", serr)
		}
		n.metrics.Deliveries.WithLabelValues(d.Name(), metrics.NotifyDelivered).Inc()
		log.Info("notification delivered")
		n.ack(ctx, m, log)
		return
	}

	// The budget counts calls in this round (a redelivery starts a new
	// one); the stream's delivery count is the fallback.
	attempt := int(meta.NumDelivered)
	if prev, aerr := n.store.Attempts(ctx, it.ChangeID, d.Name(), it.EventID); aerr == nil {
		attempt = prev + 1
	}
	after, retryable := IsRetryable(err)
	if retryable && after > 0 {
		n.pace.pause(scope, now.Add(min(after, n.cfg.MaxWait)))
	}
	reason := ""
	switch {
	case !retryable:
		reason = metrics.GiveUpPermanent
	case attempt >= n.cfg.MaxAttempts:
		reason = metrics.GiveUpMaxAttempts
	case now.Sub(it.EnqueuedAt) >= n.cfg.MaxAge:
		reason = metrics.GiveUpMaxAge
	}
	if reason != "" {
		st.State = notifyqueue.GivenUp
		if _, serr := n.store.Record(ctx, it.ChangeID, st, &it); serr != nil {
			// Without the parked item a redelivery is impossible: keep it.
			log.Warn("notify: give-up could not be recorded, will try again", "error", serr)
			_ = m.NakWithDelay(statusRetry)
			return
		}
		n.metrics.Deliveries.WithLabelValues(d.Name(), metrics.NotifyGivenUp).Inc()
		n.metrics.GivenUp.WithLabelValues(d.Name(), reason).Inc()
		log.Warn("notification given up", "attempt", attempt, "reason", reason,
			"status", st.LastStatusCode, "error_code", st.LastErrorCode)
		n.ack(ctx, m, log)
		return
	}

	wait := after
	if wait <= 0 {
		wait = n.cfg.Backoff(attempt)
	}
	wait = min(wait, n.cfg.MaxWait)
	next := now.Add(wait).UTC()
	st.State, st.NextAttemptAt = notifyqueue.Retrying, &next
	if _, serr := n.store.Record(ctx, it.ChangeID, st, nil); serr != nil {
		log.Warn("notify: retry status could not be written", "error", serr)
	}
	n.metrics.Retries.WithLabelValues(d.Name()).Inc()
	log.Info("notification will be retried", "attempt", attempt, "wait", wait,
		"status", st.LastStatusCode, "error_code", st.LastErrorCode)
	if err := m.NakWithDelay(wait); err != nil {
		log.Warn("notify: nak failed (the item comes back after its lease)", "error", err)
	}
}

func (n *Notifier) ack(ctx context.Context, m jetstream.Msg, log interface {
	Warn(string, ...any)
}) {
	if err := m.DoubleAck(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("notify: ack failed (the item may be delivered again, same id)", "error", err)
	}
}
