package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
)

// load reads the record, or creates it from the message if the intake did
// not get to record it.
func (j *job) load(ctx context.Context) (current, error) {
	store := j.w.deps.Records
	rec, rev, err := store.Get(ctx, j.m.ID)
	if err == nil {
		return current{rec, rev}, nil
	}
	if !errors.Is(err, records.ErrNotFound) {
		return current{}, err
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
