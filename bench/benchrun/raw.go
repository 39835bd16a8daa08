package benchrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
)

// RawPublisher publishes the same change messages the intake writes
// (change.Message JSON on the resource's subject, with a message id) with a
// plain synchronous JetStream publish: the floor any intake has to stand on.
type RawPublisher struct {
	JS jetstream.JetStream
}

// PublishPeering publishes an Update a Peering change of resource id with
// body and waits for the stream's ack.
func (p RawPublisher) PublishPeering(ctx context.Context, id string, body []byte) error {
	path, err := ccloud.UpdatePeering.Path(id)
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return err
	}
	m := change.Message{
		ID: change.NewID(), Operation: string(ccloud.UpdatePeering),
		Resource: change.Resource{Kind: ccloud.UpdatePeering.Kind(), ID: id, Path: path},
		Body:     compact.Bytes(), RequestedBy: "bench", AcceptedAt: time.Now().UTC(),
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(topology.ChangeSubject(m.Resource))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, m.ID+".g0")
	if _, err := p.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("raw publish %s: %w", m.ID, err)
	}
	return nil
}

// PurgeChanges empties the change work queue (between benchmark phases, so
// that a worker started later does not inherit the intake phase's backlog).
func PurgeChanges(ctx context.Context, js jetstream.JetStream) error {
	s, err := js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}
