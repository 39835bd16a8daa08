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
// whose message was stored last for it (accepted, or re-queued by an
// operator retry).
type latestEntry struct {
	ChangeID   string `json:"change_id"`
	Generation int    `json:"generation"`
	// Seq is the message's sequence in the change stream.
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
}

// markLatest notes msg (stored at stream sequence seq) as its resource's
// latest change. A fresh publish overwrites (one write); a message found
// already stored (a replay) is noted only if no later message is.
func (q *Queue) markLatest(ctx context.Context, msg change.Message, seq uint64, ifNewer bool) error {
	data, err := json.Marshal(latestEntry{ChangeID: msg.ID, Generation: msg.Generation, Seq: seq, At: q.now().UTC()})
	if err != nil {
		return fmt.Errorf("queue: encode latest change: %w", err)
	}
	key := topology.ResourceKey(msg.Resource)
	if !ifNewer {
		if _, err := q.resources.Put(ctx, key, data); err != nil {
			return fmt.Errorf("queue: note latest change of %s: %w", msg.Resource.Path, err)
		}
		return nil
	}
	for range 5 {
		cur, rev, found, err := q.latest(ctx, msg.Resource)
		switch {
		case err != nil:
			return err
		case found && cur.Seq >= seq:
			return nil
		case !found:
			_, err = q.resources.Create(ctx, key, data)
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
		default:
			_, err = q.resources.Update(ctx, key, data, rev)
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("queue: note latest change of %s: %w", msg.Resource.Path, err)
		}
		return nil
	}
	return fmt.Errorf("queue: note latest change of %s: too many concurrent updates", msg.Resource.Path)
}

// latest reads a resource's latest change.
func (q *Queue) latest(ctx context.Context, r change.Resource) (latestEntry, uint64, bool, error) {
	e, err := q.resources.Get(ctx, topology.ResourceKey(r))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return latestEntry{}, 0, false, nil
	}
	if err != nil {
		return latestEntry{}, 0, false, fmt.Errorf("queue: latest change of %s: %w", r.Path, err)
	}
	var l latestEntry
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return latestEntry{}, 0, false, fmt.Errorf("queue: latest change of %s: %w", r.Path, err)
	}
	return l, e.Revision(), true, nil
}
