package topology

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
)

// ErrNoHead reports that no change of the resource is queued.
var ErrNoHead = errors.New("topology: no queued change for the resource")

// Heads finds the first queued change of a resource in the work-queue stream.
type Heads struct {
	stream jetstream.Stream
}

// NewHeads opens the change stream.
func NewHeads(ctx context.Context, js jetstream.JetStream) (*Heads, error) {
	s, err := js.Stream(ctx, ChangesStream)
	if err != nil {
		return nil, fmt.Errorf("topology: open %s: %w", ChangesStream, err)
	}
	return &Heads{stream: s}, nil
}

// Head returns the stream sequence and data of the oldest queued change of
// r (a "next by subject" get from sequence 1 with the wildcard filter
// HeadSubject, answered by the stream leader); ErrNoHead if there is none.
func (h *Heads) Head(ctx context.Context, r change.Resource) (uint64, []byte, error) {
	m, err := h.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(HeadSubject(r)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil, ErrNoHead
	}
	if err != nil {
		return 0, nil, fmt.Errorf("topology: head of %s: %w", r.Path, err)
	}
	return m.Sequence, m.Data, nil
}
