package gate

import (
	"sync"
	"time"
)

// Clock-offset estimation. Every time value the gate stores is in the NATS
// server's clock, which stamps each KV entry (jetstream.KeyValueEntry.Created).
// Each gate estimates offset = server - local from its own writes: a write
// sent at local t0 and acknowledged at local t1 was stamped at server time
// S, so the offset lies in [S-t1, S-t0]. The bounds are kept conservative:
// a server-time deadline becomes a local time with the lowest offset (the
// latest local moment), a local observation becomes a server time with the
// highest (the latest server moment). Workers whose clocks disagree with
// each other and with the server therefore all wait at least as long as the
// server's clock says.

// sampleTTL is how long an offset sample is trusted; clocks drift.
const sampleTTL = time.Minute

// recalibrateAfter is how old the newest sample may get before the gate
// measures the offset again before using it.
const recalibrateAfter = 5 * time.Second

// maxSamples bounds the samples kept.
const maxSamples = 64

// offsetSample is the offset interval one write gave.
type offsetSample struct {
	lo, hi time.Duration // S-t1, S-t0
	at     time.Time     // local t1, wall clock only
	mono   time.Time     // time.Now() at t1, for its monotonic reading
}

// sendWindow is a write in flight: its local send and acknowledgement
// times, and the monotonic clock at the acknowledgement.
type sendWindow struct{ t0, t1, mono time.Time }

// serverClock estimates the local clock's offset to the NATS server's.
type serverClock struct {
	now func() time.Time

	mu      sync.Mutex
	samples []offsetSample
	pending map[uint64]sendWindow // own writes by revision, until their entry is seen
	// recent are the latest entries seen, for a write whose entry came back
	// through the watch before its acknowledgement.
	recent [recentEntries]seenEntry
	next   int
}

// recentEntries is how many seen entries are kept for late acknowledgements.
const recentEntries = 64

// seenEntry is a revision and its server timestamp.
type seenEntry struct {
	rev     uint64
	created time.Time
}

func newServerClock(now func() time.Time) *serverClock {
	return &serverClock{now: now, pending: map[uint64]sendWindow{}}
}

// sent records a write of revision rev sent at t0 and acknowledged at t1;
// the entry's Created, once seen, gives a sample.
func (c *serverClock) sent(rev uint64, t0, t1 time.Time) {
	mono := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for r, w := range c.pending {
		if t1.Sub(w.t1) > sampleTTL || w.t1.After(t1) {
			delete(c.pending, r)
		}
	}
	for _, e := range c.recent {
		if e.rev == rev {
			c.addLocked(t0, t1, e.created, mono)
			return
		}
	}
	c.pending[rev] = sendWindow{t0, t1, mono}
}

// seen reports an entry of revision rev stamped created by the server; a
// sample is added when it is one of our writes.
func (c *serverClock) seen(rev uint64, created time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.pending[rev]
	if !ok {
		c.recent[c.next] = seenEntry{rev, created}
		c.next = (c.next + 1) % recentEntries
		return
	}
	delete(c.pending, rev)
	c.addLocked(w.t0, w.t1, created, w.mono)
}

// add adds the sample of a write sent at t0, acknowledged at t1 and
// stamped created.
func (c *serverClock) add(t0, t1, created time.Time) {
	mono := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(t0, t1, created, mono)
}

// addLocked adds a sample; mono is time.Now() taken with t1.
func (c *serverClock) addLocked(t0, t1, created, mono time.Time) {
	s := offsetSample{lo: created.Sub(t1), hi: created.Sub(t0), at: t1.Round(0), mono: mono}
	if s.lo > s.hi { // the local clock went backwards during the write
		return
	}
	kept := c.samples[:0]
	for _, old := range c.samples {
		// A sample that contradicts the new one means a clock was stepped:
		// only the new one is true now. Old and future-dated ones go too.
		if old.hi < s.lo || old.lo > s.hi || t1.Sub(old.at) > sampleTTL || old.at.After(t1) {
			continue
		}
		kept = append(kept, old)
	}
	c.samples = append(kept, s)
	if len(c.samples) > maxSamples {
		c.samples = c.samples[len(c.samples)-maxSamples:]
	}
}

// bounds returns the tightest offset interval; ok is false without samples.
func (c *serverClock) bounds() (lo, hi time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == 0 {
		return 0, 0, false
	}
	lo, hi = c.samples[0].lo, c.samples[0].hi
	for _, s := range c.samples[1:] {
		lo, hi = max(lo, s.lo), min(hi, s.hi)
	}
	return lo, hi, true
}

// stepTolerance is how far the local clock may move apart from the
// monotonic clock since the newest sample before it counts as stepped.
const stepTolerance = 50 * time.Millisecond

// fresh reports whether a sample newer than recalibrateAfter exists and
// the local clock has not been stepped since (its progress matches the
// monotonic clock's).
func (c *serverClock) fresh() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.samples) == 0 {
		return false
	}
	last := c.samples[len(c.samples)-1]
	age := c.now().Round(0).Sub(last.at)
	drift := age - time.Since(last.mono)
	return age >= 0 && age < recalibrateAfter && drift.Abs() < stepTolerance
}

// serverNow is the best estimate of the server's current time.
func (c *serverClock) serverNow() time.Time {
	lo, hi, _ := c.bounds()
	return c.now().Add(lo + (hi-lo)/2).Round(0)
}

// toServerLate turns a local time into the latest server time it can be.
func (c *serverClock) toServerLate(local time.Time) time.Time {
	_, hi, _ := c.bounds()
	return local.Add(hi).Round(0)
}

// toLocalLate turns a server time into the latest local time it can be.
func (c *serverClock) toLocalLate(server time.Time) time.Time {
	if server.IsZero() {
		return server
	}
	lo, _, _ := c.bounds()
	return server.Add(-lo)
}
