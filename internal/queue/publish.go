package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// maxScan bounds how many stored messages of one resource stored reads.
const maxScan = 10000

// publish stores msg in the change stream with its generation's message id.
// Its error wraps ErrNotQueued when the
// message certainly was not stored, ErrMaybeQueued otherwise.
func (q *Queue) publish(ctx context.Context, msg change.Message, traceparent string) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("%w: encode change %s: %w", ErrNotQueued, msg.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: enqueue %s: %w", ErrNotQueued, msg.ID, err)
	}
	if nc := q.js.Conn(); nc != nil && !nc.IsConnected() {
		return fmt.Errorf("%w: enqueue %s: NATS is not connected", ErrNotQueued, msg.ID)
	}
	m := nats.NewMsg(topology.ChangeSubject(msg.Resource))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, msg.MsgID())
	// A malformed traceparent is dropped here, never propagated.
	if tp := tracectx.Clean(traceparent); tp != "" {
		m.Header.Set(TraceHeader, tp)
	}
	if _, err := q.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("%w: enqueue %s: %w", publishOutcome(err), msg.ID, err)
	}
	return nil
}

// publishOutcome classifies a publish error: ErrNotQueued when the message
// never reached a stream or the stream refused it, ErrMaybeQueued when it
// may have been stored (no acknowledgement in time, the link lost after
// sending).
func publishOutcome(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrReconnectBufExceeded), // disconnected, reconnect buffering off: never sent
		errors.Is(err, nats.ErrConnectionDraining), // refused before sending
		// (nats.ErrConnectionClosed is not here: publish checks the connection
		// first, so a close seen now came while waiting for the reply.)
		errors.Is(err, nats.ErrInvalidConnection),
		errors.Is(err, nats.ErrNoResponders), // no stream listens on the subject
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, nats.ErrBadSubject):
		return ErrNotQueued
	case errors.As(err, &apiErr):
		// The stream answered and refused (full, wrong expectation): a
		// refusal is final, a stored or duplicate message is acknowledged.
		return ErrNotQueued
	default:
		// context deadline, nats.ErrTimeout, a connection lost while waiting,
		// an undecodable acknowledgement: the server may have stored it.
		return ErrMaybeQueued
	}
}

// stored looks in the change stream for the message of msg's generation and
// returns its stream sequence (0: not there). A message is there from its
// publish until a worker acknowledges it; a worker moves the record past
// queued (for that generation) before it acknowledges, so a caller that
// calls stored and then reads the record sees one of the two.
func (q *Queue) stored(ctx context.Context, msg change.Message) (uint64, error) {
	st, err := q.js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		return 0, fmt.Errorf("queue: look up %s: %w", msg.MsgID(), err)
	}
	filter := topology.HeadSubject(msg.Resource)
	want := msg.MsgID()
	seq := uint64(1)
	for range maxScan {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("queue: look up %s: %w", want, err)
		}
		if m.Header.Get(jetstream.MsgIDHeader) == want {
			return m.Sequence, nil
		}
		seq = m.Sequence + 1
	}
	return 0, fmt.Errorf("queue: look up %s: more than %d stored changes of %s", want, maxScan, msg.Resource.Path)
}
