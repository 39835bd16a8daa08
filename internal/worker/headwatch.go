package worker

import (
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/change"
)

// stuckLeases is how many leases (AckWait) a resource's first queued change
// may stay unmoved, while later changes of the resource are delivered,
// before it counts as stuck. JetStream delivers in stream order and
// redelivers a change at the latest AckWait after its last heartbeat, so a
// head that a delivery reached moves its record well within that.
const stuckLeases = 3

// headWatch notices a resource's first queued change that JetStream no
// longer delivers: the followers that wait behind it keep seeing its record
// at the same revision. Observations are this worker's own; each follower
// delivery feeds one in.
type headWatch struct {
	after time.Duration

	mu     sync.Mutex
	heads  map[uint64]watched
	pruned time.Time
}

// watched is one head as last seen.
type watched struct {
	rev         uint64
	since, seen time.Time
}

func newHeadWatch(after time.Duration) *headWatch {
	return &headWatch{after: after, heads: map[uint64]watched{}}
}

// observe notes that the record of the head at sequence seq was at rev at
// now, and reports whether it has stayed there for the watch's period
// (then the count starts again, so a head still stuck is reported once
// per period). A head that waits on purpose (a retry or a reserved
// rate-limit slot ahead) is not watched.
func (h *headWatch) observe(seq uint64, rec change.Record, rev uint64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prune(now)
	if waitsOnPurpose(rec, now) {
		delete(h.heads, seq)
		return false
	}
	w, ok := h.heads[seq]
	if !ok || w.rev != rev {
		h.heads[seq] = watched{rev: rev, since: now, seen: now}
		return false
	}
	w.seen = now
	stuck := now.Sub(w.since) >= h.after
	if stuck {
		w.since = now
	}
	h.heads[seq] = w
	return stuck
}

// waitsOnPurpose reports whether rec is the record of a change that is
// waiting for a time ahead: a retry, or an attempt that starts at a
// reserved rate-limit slot.
func waitsOnPurpose(rec change.Record, now time.Time) bool {
	n := len(rec.Attempts)
	switch {
	case rec.State == change.StateRetrying && rec.NextAttemptAt != nil:
		return rec.NextAttemptAt.After(now)
	case rec.State == change.StateRunning && n > 0:
		return rec.Attempts[n-1].StartedAt.After(now)
	}
	return false
}

// prune forgets heads not seen for two periods (they moved on, or nothing
// waits behind them any more), at most once per period.
func (h *headWatch) prune(now time.Time) {
	if now.Sub(h.pruned) < h.after {
		return
	}
	h.pruned = now
	for seq, w := range h.heads {
		if now.Sub(w.seen) >= 2*h.after {
			delete(h.heads, seq)
		}
	}
}
