// Package replay remembers the delivery ids of signed inbound webhooks so that
// every api instance refuses a replayed delivery.
package replay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/internal/topology"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrReplayed is returned by Deliveries.Remember for a delivery id that was
// already received from the same caller within the bucket's TTL.
var ErrReplayed = errors.New("replay: webhook delivery already received")

// Deliveries remembers the delivery ids of signed webhooks (X-GitHub-Delivery,
// X-Atlassian-Webhook-Identifier) in a JetStream KV bucket with a TTL, so that
// a replayed delivery is refused by every api instance.
type Deliveries struct {
	kv jetstream.KeyValue
}

// NewDeliveries opens the deliveries bucket (which Ensure must have created).
func NewDeliveries(ctx context.Context, js jetstream.JetStream) (*Deliveries, error) {
	kv, err := js.KeyValue(ctx, topology.DeliveriesBucket)
	if err != nil {
		return nil, fmt.Errorf("replay: open %s: %w", topology.DeliveriesBucket, err)
	}
	return &Deliveries{kv: kv}, nil
}

// Remember records the delivery id of caller. It returns the revision to
// pass to Forget, or ErrReplayed when the id is already known.
func (d *Deliveries) Remember(ctx context.Context, caller, delivery string) (uint64, error) {
	rev, err := d.kv.Create(ctx, deliveryKey(caller, delivery), []byte(caller))
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
		return 0, ErrReplayed
	case err != nil:
		return 0, fmt.Errorf("replay: remember delivery: %w", err)
	}
	return rev, nil
}

// Forget removes a delivery id remembered at rev, so that the sender's retry
// of a request that was not queued is not taken for a replay.
func (d *Deliveries) Forget(ctx context.Context, caller, delivery string, rev uint64) error {
	if err := d.kv.Delete(ctx, deliveryKey(caller, delivery), jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("replay: forget delivery: %w", err)
	}
	return nil
}

// deliveryKey is a KV-safe key for any delivery id.
func deliveryKey(caller, delivery string) string {
	sum := sha256.Sum256([]byte(caller + "\x00" + delivery))
	return hex.EncodeToString(sum[:])
}
