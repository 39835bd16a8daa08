package worker

import (
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/clocktest"
)

// TestHeadWatch: a head is stuck after staying at one record revision for
// the whole period since this worker first saw it (not since the record was
// written: a change that became its resource's head only now is fresh); a
// new revision or a wait on purpose starts the count again; a stuck head
// is reported once per period.
func TestHeadWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	queued := change.Record{State: change.StateQueued, UpdatedAt: t0.Add(-time.Hour)}
	later := t0.Add(time.Hour)
	retrying := change.Record{State: change.StateRetrying, NextAttemptAt: &later}
	slotAhead := change.Record{State: change.StateRunning, Attempts: []change.Attempt{{Number: 1, StartedAt: later}}}
	type step struct {
		at    time.Duration
		rec   change.Record
		rev   uint64
		stuck bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"unmoved for the period", []step{{0, queued, 5, false}, {20 * time.Second, queued, 5, false}, {30 * time.Second, queued, 5, true}}},
		{"reported once per period", []step{{0, queued, 5, false}, {30 * time.Second, queued, 5, true}, {31 * time.Second, queued, 5, false}, {60 * time.Second, queued, 5, true}}},
		{"a new revision starts again", []step{{0, queued, 5, false}, {20 * time.Second, queued, 6, false}, {40 * time.Second, queued, 6, false}, {50 * time.Second, queued, 6, true}}},
		{"a retry ahead is not stuck", []step{{0, retrying, 5, false}, {40 * time.Second, retrying, 5, false}}},
		{"a reserved slot ahead is not stuck", []step{{0, slotAhead, 5, false}, {40 * time.Second, slotAhead, 5, false}}},
		{"a wait on purpose restarts the count", []step{{0, queued, 5, false}, {20 * time.Second, retrying, 5, false}, {40 * time.Second, queued, 5, false}, {70 * time.Second, queued, 5, true}}},
		{"forgotten when not seen for two periods", []step{{0, queued, 5, false}, {29 * time.Second, queued, 5, false}, {90 * time.Second, queued, 5, false}, {119 * time.Second, queued, 5, false}, {120 * time.Second, queued, 5, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHeadWatch(30 * time.Second)
			for i, s := range tc.steps {
				if got := h.observe(7, s.rec, s.rev, t0.Add(s.at)); got != s.stuck {
					t.Fatalf("step %d (at %s, %s rev %d): stuck = %v, want %v", i, s.at, s.rec.State, s.rev, got, s.stuck)
				}
			}
		})
	}
}

// TestStuckHeadIsReported: a follower that keeps finding its resource's head
// at the same record revision for three leases reports the head's sequence
// (and counts it); a head that moved is not reported.
func TestStuckHeadIsReported(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b.w.deps.Now = clock.Now
	var mu sync.Mutex
	var reported []uint64
	b.w.deps.StuckHead = func(seq uint64) { mu.Lock(); reported = append(reported, seq); mu.Unlock() }
	hm, head := b.message(idA, "p-1", 3, 0)
	_, follower := b.message(idB, "p-1", 9, 0)
	b.setHead("p-1", 3, head.data)
	rec := change.NewRecord(hm) // written long ago: a head only now
	b.store.put(rec)
	deliver := func(dc uint64) {
		b.handle(&fakeDelivery{data: follower.data, seq: 9, dc: dc})
	}
	deliver(1)
	clock.Advance(8 * time.Second)
	deliver(2)
	b.store.put(rec) // the head moved (a new revision)
	clock.Advance(8 * time.Second)
	deliver(3)
	mu.Lock()
	if len(reported) != 0 {
		t.Fatalf("a head that moved was reported: %v", reported)
	}
	mu.Unlock()
	clock.Advance(9 * time.Second)
	deliver(4)
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || reported[0] != 3 {
		t.Fatalf("reported %v, want [3]", reported)
	}
}
