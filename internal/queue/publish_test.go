package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestPublishOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"disconnected, nothing sent", nats.ErrReconnectBufExceeded, ErrNotQueued},
		{"draining", nats.ErrConnectionDraining, ErrNotQueued},
		{"no stream listens", jetstream.ErrNoStreamResponse, ErrNotQueued},
		{"no responders", nats.ErrNoResponders, ErrNotQueued},
		{"too large", nats.ErrMaxPayload, ErrNotQueued},
		{"stream refused", fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum messages exceeded"}), ErrNotQueued},
		{"deadline while waiting", context.DeadlineExceeded, ErrMaybeQueued},
		{"timeout while waiting", nats.ErrTimeout, ErrMaybeQueued},
		{"closed while waiting", nats.ErrConnectionClosed, ErrMaybeQueued},
		{"bad acknowledgement", jetstream.ErrInvalidJSAck, ErrMaybeQueued},
		{"anything else", errors.New("boom"), ErrMaybeQueued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := publishOutcome(tt.err); got != tt.want {
				t.Fatalf("publishOutcome(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
