package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
)

// latestEntry is a resource's entry in topology.ResourcesBucket: the change
// published (accepted, or re-queued by an operator retry) last for it. It
// is written before the publish, so it is never older than the newest
// stored message; it may name a change whose publish then failed (see
// Queue.checkStale).
type latestEntry struct {
	ChangeID   string    `json:"change_id"`
	Generation int       `json:"generation"`
	At         time.Time `json:"at"`
}

// markLatest notes msg as its resource's latest change, before its publish.
func (q *Queue) markLatest(ctx context.Context, msg change.Message) error {
	data, err := json.Marshal(latestEntry{ChangeID: msg.ID, Generation: msg.Generation, At: q.now().UTC()})
	if err != nil {
		return fmt.Errorf("queue: encode latest change: %w", err)
	}
	if _, err := q.resources.Put(ctx, topology.ResourceKey(msg.Resource), data); err != nil {
		return fmt.Errorf("queue: note latest change of %s: %w", msg.Resource.Path, err)
	}
	return nil
}

// latest reads a resource's latest change.
func (q *Queue) latest(ctx context.Context, r change.Resource) (latestEntry, bool, error) {
	e, err := q.resources.Get(ctx, topology.ResourceKey(r))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return latestEntry{}, false, nil
	}
	if err != nil {
		return latestEntry{}, false, fmt.Errorf("queue: latest change of %s: %w", r.Path, err)
	}
	var l latestEntry
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return latestEntry{}, false, fmt.Errorf("queue: latest change of %s: %w", r.Path, err)
	}
	return l, true, nil
}
