package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

var errConflict = errors.New("ratelimit: conflict")

// probeRecheck is how soon a caller waiting for the first response of a
// cold gate asks again.
const probeRecheck = 20 * time.Millisecond

// windowSlack is added to an estimated window end to absorb clock and
// network jitter.
const windowSlack = 20 * time.Millisecond

func (g *Gate) read(ctx context.Context, key string) (State, uint64, error) {
	e, err := g.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, 0, nil
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("%w: read: %v", ErrGate, err)
	}
	var s State
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return State{}, e.Revision(), nil // a garbled gate is replaced by the next write
	}
	return s, e.Revision(), nil
}

func (g *Gate) write(ctx context.Context, key string, s State, rev uint64) (uint64, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: encode: %w", err)
	}
	var newRev uint64
	if rev == 0 {
		newRev, err = g.kv.Create(ctx, key, data)
	} else {
		newRev, err = g.kv.Update(ctx, key, data, rev)
	}
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, errConflict
		}
		return 0, fmt.Errorf("%w: write: %v", ErrGate, err)
	}
	return newRev, nil
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
