package worker

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrLeaseLost reports that a delivery's lease ran out: JetStream may have
// given the change to another worker, so this one must not write the
// record, publish, ack or nak any more.
var ErrLeaseLost = errors.New("worker: lease lost")

// ErrHoldLimit reports a delivery held for longer than the worker's
// MaxHold: its lease is no longer renewed, so that JetStream redelivers the
// change even if the job is stuck (an answer that never comes).
var ErrHoldLimit = errors.New("worker: delivery held past the hold limit")

// lease is this worker's own, conservative view of how long JetStream
// leaves a delivery to it. JetStream redelivers a change AckWait after the
// last heartbeat it processed (or after the delivery). The lease deadline is
// the time a heartbeat was sent plus AckWait, counted only when the
// heartbeat's confirmation came back before the previous deadline (so it was
// processed while the delivery was still ours); it is read on the monotonic
// clock, so wall-clock steps do not move it. When the deadline passes the
// lease is lost for good and its context is cancelled, which stops an
// in-flight upstream call.
type lease struct {
	d         Delivery
	ackWait   time.Duration
	holdUntil time.Time // zero: no limit

	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	deadline time.Time
	lost     bool
	timer    *time.Timer
	stopped  chan struct{}
	stopOnce sync.Once

	// frozen is held while a test hook runs: heartbeats stop as they would
	// in a paused process.
	frozen sync.Mutex
}

// newLease starts a lease whose first deadline is start+ackWait: start must
// be no later than the moment JetStream sent the delivery (the time of the
// pull request). It is not renewed past start+maxHold (0: no limit).
func newLease(parent context.Context, d Delivery, start time.Time, ackWait, maxHold time.Duration) *lease {
	ctx, cancel := context.WithCancelCause(parent)
	l := &lease{d: d, ackWait: ackWait, ctx: ctx, cancel: cancel, deadline: start.Add(ackWait), stopped: make(chan struct{})}
	if maxHold > 0 {
		l.holdUntil = start.Add(maxHold)
	}
	l.mu.Lock()
	l.timer = time.AfterFunc(time.Until(l.deadline), l.expire)
	l.mu.Unlock()
	return l
}

// expire runs when the deadline timer fires.
func (l *lease) expire() {
	l.mu.Lock()
	if l.lost || time.Now().Before(l.deadline) {
		// Extended meanwhile; the timer was reset.
		l.mu.Unlock()
		return
	}
	l.lost = true
	l.mu.Unlock()
	l.cancel(ErrLeaseLost)
}

// remaining is the time left on the lease (<= 0 when lost).
func (l *lease) remaining() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return 0
	}
	return time.Until(l.deadline)
}

// ok reports whether at least need is left on the lease.
func (l *lease) ok(need time.Duration) bool { return l.remaining() > need }

// renew sends a heartbeat and waits for its confirmation; on success the
// deadline moves to the send time plus AckWait. A confirmation that arrives
// after the deadline does not count: the lease is lost.
func (l *lease) renew(ctx context.Context) error {
	l.mu.Lock()
	if l.lost {
		l.mu.Unlock()
		return ErrLeaseLost
	}
	deadline := l.deadline
	l.mu.Unlock()
	sent := time.Now()
	if !l.holdUntil.IsZero() && !sent.Before(l.holdUntil) {
		return ErrHoldLimit
	}
	hctx, cancel := context.WithDeadline(ctx, deadline)
	err := l.d.Heartbeat(hctx)
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost || !time.Now().Before(l.deadline) {
		if !l.lost {
			l.lost = true
			l.cancel(ErrLeaseLost)
		}
		return ErrLeaseLost
	}
	if err != nil {
		return err
	}
	if next := sent.Add(l.ackWait); next.After(l.deadline) {
		l.deadline = next
		l.timer.Reset(time.Until(next))
	}
	return nil
}

// errLeaseShort reports a lease that is alive but shorter than needed.
var errLeaseShort = errors.New("worker: lease shorter than needed")

// ensure makes sure more than need is left on the lease, renewing it (a
// confirmed heartbeat) only when that is not already the case.
func (l *lease) ensure(ctx context.Context, need time.Duration) error {
	if l.ok(need) {
		return nil
	}
	if err := l.renew(ctx); err != nil {
		return err
	}
	if !l.ok(need) {
		return errLeaseShort
	}
	return nil
}

// keepAlive renews the lease every interval until stop, ignoring failures
// (the deadline timer decides when they matter), until the hold limit: then
// it calls held and stops.
func (l *lease) keepAlive(interval time.Duration, held func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stopped:
			return
		case <-l.ctx.Done():
			return
		case <-t.C:
			l.frozen.Lock()
			err := l.renew(l.ctx)
			l.frozen.Unlock()
			if errors.Is(err, ErrHoldLimit) {
				held()
				return
			}
		}
	}
}

// freeze runs fn with the heartbeats suspended (test hooks: a paused
// process sends none).
func (l *lease) freeze(fn func()) {
	l.frozen.Lock()
	defer l.frozen.Unlock()
	fn()
}

// stop ends the heartbeats and releases the lease's resources.
func (l *lease) stop() {
	l.stopOnce.Do(func() {
		close(l.stopped)
		l.mu.Lock()
		l.timer.Stop()
		l.mu.Unlock()
		l.cancel(context.Canceled)
	})
}
