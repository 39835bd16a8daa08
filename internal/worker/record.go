package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
)

// recordGrace is how long after its acceptance a change without a record
// is left to the intake, which writes the record right after the publish:
// a worker that wrote it first would make the intake answer its client as
// if the request were a replay (Idempotent-Replayed, not counted as
// accepted). Past it, the api is taken to have failed between the two
// writes, and the worker writes the record from the message.
const recordGrace = 2 * time.Second

// recordPendingDelay is how soon a change whose record the intake has not
// written yet is tried again.
const recordPendingDelay = 100 * time.Millisecond

// errRecordPending: the change is fresh and its record not written yet.
var errRecordPending = errors.New("worker: the intake has not written the change record yet")

// load reads the record, or creates it from the message if the intake did
// not get to record it within recordGrace (errRecordPending before).
func (j *job) load(ctx context.Context) (current, error) {
	store := j.w.deps.Records
	rec, rev, err := store.Get(ctx, j.m.ID)
	if err == nil {
		return current{rec, rev}, nil
	}
	if !errors.Is(err, records.ErrNotFound) {
		return current{}, err
	}
	// The intake's write is usually a moment away: look again shortly
	// (in-line, 20 ms in all) before handing the change back.
	for _, wait := range [...]time.Duration{time.Millisecond, 4 * time.Millisecond, 15 * time.Millisecond} {
		if !j.w.deps.Now().Before(j.m.AcceptedAt.Add(recordGrace)) {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return current{}, ctx.Err()
		case <-t.C:
		}
		rec, rev, err = store.Get(ctx, j.m.ID)
		if err == nil {
			return current{rec, rev}, nil
		}
		if !errors.Is(err, records.ErrNotFound) {
			return current{}, err
		}
	}
	if j.w.deps.Now().Before(j.m.AcceptedAt.Add(recordGrace)) {
		return current{}, errRecordPending
	}
	if err := j.guard(); err != nil {
		return current{}, err
	}
	rec = change.NewRecord(j.m)
	rev, err = store.Create(ctx, rec)
	if errors.Is(err, records.ErrExists) {
		rec, rev, err = store.Get(ctx, j.m.ID)
	}
	if err != nil {
		return current{}, err
	}
	return current{rec, rev}, nil
}

// update applies fn to a copy of the record and stores it with
// compare-and-swap. On a conflict it re-reads the record and applies fn
// again: fn is a record transition, which refuses when the re-read record
// is no longer this delivery's to change (a later owner, a terminal state,
// another generation), so a stale update is never re-applied. A refusal
// means the change is lost to this delivery.
func (j *job) update(ctx context.Context, cur current, fn func(*change.Record) error) (current, error) {
	store := j.w.deps.Records
	for range 5 {
		if err := j.guard(); err != nil {
			return cur, err
		}
		next := cur.rec
		if err := fn(&next); err != nil {
			return cur, lost(err)
		}
		rev, err := store.Update(ctx, next, cur.rev)
		if err == nil {
			return current{next, rev}, nil
		}
		if !errors.Is(err, records.ErrConflict) {
			return cur, err
		}
		rec, rev, err := store.Get(ctx, cur.rec.ID)
		if err != nil {
			return cur, err
		}
		cur = current{rec, rev}
	}
	return cur, fmt.Errorf("worker: record %s: %w", cur.rec.ID, records.ErrConflict)
}
