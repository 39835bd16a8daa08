package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

var errConflict = errors.New("gate: conflict")

// clockPrefix starts the KV key each gate writes to measure its clock's
// offset to the server's when it has no recent write of its own (one key
// per gate, so gates never contend; the bucket's TTL removes old ones).
const clockPrefix = "clock_"

// cached is a scope's state as this gate knows it, folded (BlockFor into
// BlockedUntil). exact is false for our own write until its entry, with the
// server's timestamp, comes back through the watch.
type cached struct {
	state State
	rev   uint64
	exact bool
}

// decode turns a KV entry into its folded state; a garbled value is an
// empty state (the next write replaces it).
func decode(e jetstream.KeyValueEntry) cached {
	var s State
	if json.Unmarshal(e.Value(), &s) != nil {
		return cached{rev: e.Revision(), exact: true}
	}
	return cached{state: s.folded(e.Created()), rev: e.Revision(), exact: true}
}

func (g *Gate) read(ctx context.Context, key string) (cached, error) {
	e, err := g.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return cached{}, nil
	}
	if err != nil {
		return cached{}, fmt.Errorf("%w: read %s: %w", ErrGate, key, err)
	}
	c := decode(e)
	g.remember(key, c)
	return c, nil
}

// write stores next over base (revision 0: the key must not exist). A
// fresh Retry-After (block > 0, received at local time recv) is stored
// relative to the new entry's server timestamp. The gate's own cache gets
// next, and the clock the write's timing.
func (g *Gate) write(ctx context.Context, key string, base cached, next State, block time.Duration, recv time.Time) error {
	stored, rev := next, base.rev
	if block > 0 {
		// The absolute part of a fresh block is what learn added besides
		// the Retry-After: the slots reserved before it.
		stored.BlockedUntil = latest(base.state.BlockedUntil, base.state.NextSlot)
		stored.BlockFor = block - g.now().Sub(recv)
	}
	data, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("gate: encode: %w", err)
	}
	t0 := g.now()
	var newRev uint64
	if rev == 0 {
		newRev, err = g.kv.Create(ctx, key, data)
	} else {
		newRev, err = g.kv.Update(ctx, key, data, rev)
	}
	t1 := g.now()
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return errConflict
		}
		return fmt.Errorf("%w: write %s: %w", ErrGate, key, err)
	}
	g.clock.sent(newRev, t0, t1)
	g.remember(key, cached{state: next, rev: newRev})
	return nil
}

// calibrate measures the clock offset with one write and read of the
// gate's own clock key; concurrent callers share one measurement.
func (g *Gate) calibrate(ctx context.Context) error {
	g.calibrating.Lock()
	defer g.calibrating.Unlock()
	if g.clock.fresh() {
		return nil // measured while we waited
	}
	t0 := g.now()
	rev, err := g.kv.Put(ctx, g.clockKey, []byte("1"))
	t1 := g.now()
	if err != nil {
		return fmt.Errorf("%w: clock calibration: %w", ErrGate, err)
	}
	e, err := g.readBack(ctx, rev)
	if err != nil {
		return fmt.Errorf("%w: clock calibration: %w", ErrGate, err)
	}
	g.clock.add(t0, t1, e.Created())
	return nil
}

// readBack reads revision rev of the clock key. A KV get is a direct get
// that any replica may answer, possibly before it applied our write: a
// "not found" is asked again for a short while.
func (g *Gate) readBack(ctx context.Context, rev uint64) (jetstream.KeyValueEntry, error) {
	wait := 5 * time.Millisecond
	for i := 0; ; i++ {
		e, err := g.kv.GetRevision(ctx, g.clockKey, rev)
		if err == nil || !errors.Is(err, jetstream.ErrKeyNotFound) || i == 8 {
			return e, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}
