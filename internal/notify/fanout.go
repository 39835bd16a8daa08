package notify

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// fanOutRetry is the wait before an event whose fan-out failed (a
// destination could not tell whether it wants it, or JetStream refused a
// work item) is tried again. Work items already queued are de-duplicated.
const fanOutRetry = 2 * time.Second

// fanOut turns one result event into a work item per destination that
// wants it, then acknowledges the event.
func (n *Notifier) fanOut(ctx context.Context, m jetstream.Msg) {
	raw := m.Data()
	var ev events.Event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.ID == "" || ev.Data.ID == "" {
		n.logger.Error("notify: undecodable result event dropped", "subject", m.Subject(), "error", err)
		_ = m.Term()
		return
	}
	log := n.logger.With("change_id", ev.Data.ID, "event_id", ev.ID)
	for _, d := range n.dests {
		wctx, cancel := context.WithTimeout(ctx, n.cfg.CallTimeout)
		want, err := d.Wants(wctx, ev)
		if err == nil && want {
			it := notifyqueue.Item{Destination: d.Name(), ChangeID: ev.Data.ID, EventID: ev.ID,
				EnqueuedAt: n.now().UTC(), Event: json.RawMessage(raw)}
			err = n.store.Enqueue(wctx, it, notifyqueue.EnqueueID(ev.ID, d.Name()))
		}
		cancel()
		if err != nil {
			log.Warn("notify: fan-out failed, will retry", "destination", d.Name(), "error", err)
			_ = m.NakWithDelay(fanOutRetry)
			return
		}
	}
	if err := m.DoubleAck(ctx); err != nil {
		log.Warn("notify: ack of result event failed (it will be fanned out again, de-duplicated)", "error", err)
	}
}
