package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/tracectx"
)

// errLost wraps the reason a delivery lost its change (lease ran out, a
// later delivery or generation owns the record, the record is terminal):
// such a delivery is dropped without any further write, publish, ack or nak.
type errLost struct{ cause error }

func (e *errLost) Error() string { return "delivery lost the change: " + e.cause.Error() }
func (e *errLost) Unwrap() error { return e.cause }

func lost(cause error) error { return &errLost{cause} }

// job is one delivery being processed.
type job struct {
	w     *Worker
	d     Delivery
	l     *lease
	m     change.Message
	owner change.Owner
	tp    string
	log   *slog.Logger
}

// handle processes one delivery. ctx bounds the work (it outlives the
// worker's run context by the shutdown grace); run is the worker's run
// context, used to hand back changes received while stopping.
func (w *Worker) handle(ctx, run context.Context, d Delivery, pulledAt time.Time) {
	l := newLease(ctx, d, pulledAt, w.cfg.AckWait, w.cfg.MaxHold)
	defer l.stop()
	safety := w.cfg.safety()
	var m change.Message
	if err := json.Unmarshal(d.Data(), &m); err != nil || !change.ValidID(m.ID) {
		// Not something our intake wrote; keep it out of the queue for good.
		w.deps.Logger.Error("undecodable change message terminated", "seq", d.Seq(), "error", err)
		if l.ok(safety) {
			_ = d.Term()
		}
		return
	}
	log := w.deps.Logger.With("change_id", m.ID, "operation", m.Operation, "resource", m.Resource.Path,
		"seq", d.Seq(), "delivery", d.NumDelivered())
	// Only a well-formed W3C traceparent travels on (to the upstream call
	// and the result events).
	tp := tracectx.Clean(d.Header(tracectx.Header))
	if id := tracectx.TraceID(tp); id != "" {
		log = log.With("trace_id", id)
	}
	if run.Err() != nil {
		// Received while stopping: hand it back at once.
		if l.ok(safety) {
			_ = d.Nak(0)
		}
		return
	}
	// The lease since the pull request is the proof the delivery is ours;
	// renew first only if little of it is left.
	if err := l.ensure(l.ctx, safety); err != nil {
		log.Warn("delivery not confirmed; dropped", "error", err)
		return
	}
	go l.keepAlive(w.cfg.AckWait/4, func() {
		log.Error("delivery held past the hold limit; heartbeats stopped so that JetStream redelivers the change", "max_hold", w.cfg.MaxHold)
	})
	j := &job{w: w, d: d, l: l, m: m, owner: change.Owner{Seq: d.Seq(), Delivery: d.NumDelivered()}, tp: tp, log: log}
	err := j.run(l.ctx)
	var le *errLost
	switch {
	case err == nil:
	case errors.As(err, &le) || errors.Is(err, ErrLeaseLost):
		log.Warn("change lost to another delivery or lease expired; dropped without writing, publishing, acking or naking", "reason", err)
	default:
		// Infrastructure trouble (NATS): hand the change back; the record
		// tells the next delivery where we were.
		log.Error("change processing interrupted; will be redelivered", "error", err)
		if l.ok(safety) {
			_ = d.Nak(time.Second)
		}
	}
}

// guard fails unless the lease has at least the safety margin left.
func (j *job) guard() error {
	if !j.l.ok(j.w.cfg.safety()) {
		return lost(ErrLeaseLost)
	}
	return nil
}

func (j *job) run(ctx context.Context) error {
	// Order: only the first queued change of the resource runs.
	seq, head, err := j.w.deps.Heads.Head(ctx, j.m.Resource)
	if errors.Is(err, topology.ErrNoHead) {
		return lost(fmt.Errorf("change %d no longer queued", j.owner.Seq))
	}
	if err != nil {
		return err
	}
	if seq != j.owner.Seq {
		return j.waitBehind(ctx, seq, head)
	}
	cur, err := j.load(ctx)
	if errors.Is(err, errRecordPending) {
		if err := j.guard(); err != nil {
			return err
		}
		return j.d.Nak(recordPendingDelay)
	}
	if err != nil {
		return err
	}
	gen := j.m.Generation
	switch {
	case gen < cur.rec.Generation:
		j.log.Info("stale delivery of an earlier generation acknowledged", "generation", gen)
		return j.ack(ctx)
	case gen == cur.rec.Generation && cur.rec.State.Terminal():
		return j.finishTerminal(ctx, cur)
	}
	if wait := j.takeoverWait(cur.rec); wait > 0 {
		// Another delivery's attempt may still be running, or its owner
		// may still write: JetStream redelivered early (a nak from a stale
		// worker, delayed on a stalled link, can do that), or the workers'
		// consumer was recreated. Wait until that owner must be done.
		j.log.Info("another delivery may still act on the change; handing it back", "wait", wait)
		if err := j.guard(); err != nil {
			return err
		}
		return j.d.Nak(wait)
	}
	if gen == cur.rec.Generation && !j.mayAct(cur.rec) {
		return lost(change.ErrNotOwner)
	}
	// Fence: claim and call only on a lease that outlasts the call
	// (renewed with a confirmed heartbeat if needed).
	if need := j.w.cfg.CallTimeout + j.w.cfg.safety(); j.l.ensure(ctx, need) != nil {
		j.log.Warn("lease too short for an upstream call; handing the change back", "remaining", j.l.remaining(), "need", need)
		if err := j.guard(); err != nil {
			return err
		}
		return j.d.Nak(100 * time.Millisecond)
	}
	handedBack, cur, attempt, err := j.passGate(ctx, cur)
	if handedBack || err != nil {
		return err
	}
	j.log = j.log.With("attempt", attempt.Number)
	return j.attempt(ctx, cur, attempt)
}

// claim starts an attempt on the record for this delivery (compare-and-swap,
// adopting the message's generation if it is newer); the attempt starts at
// startAt, the reserved slot.
func (j *job) claim(ctx context.Context, cur current, startAt time.Time) (current, change.Attempt, error) {
	now := j.w.deps.Now().UTC()
	startAt = startAt.UTC()
	var attempt change.Attempt
	cur, err := j.update(ctx, cur, func(r *change.Record) error {
		if err := j.adopt(r, now); err != nil {
			return err
		}
		if j.takeoverWait(*r) > 0 {
			return errOwnerActive
		}
		j.supersede(r)
		a, err := r.StartAttempt(j.m.Generation, j.owner, now)
		if err != nil {
			return err
		}
		if startAt.After(now) {
			a.StartedAt = startAt
			r.Attempts[len(r.Attempts)-1].StartedAt = startAt
		}
		attempt = a
		return nil
	})
	return cur, attempt, err
}

// takeoverWait is how long to wait before acting on r while another
// delivery owns it (by this worker's clock). A delivery later than the
// owner's comes after JetStream saw the owner's lease run out, and an
// owner claims an attempt only with more than the call timeout and the
// safety margin left on its lease: it waits until the running attempt's
// start plus those (nothing when not running). Any other delivery (an equal
// or smaller owner token: the workers' consumer was recreated and counts
// deliveries from 1 again) may meet an owner that still holds its lease,
// for up to one more lease: it waits that much longer, and as long after
// the owner's last write when the record is not running.
func (j *job) takeoverWait(r change.Record) time.Duration {
	if r.Owner == nil || r.Generation != j.m.Generation || r.State.Terminal() {
		return 0
	}
	cfg := j.w.cfg
	later := r.Owner.Before(j.owner)
	var until time.Time
	switch n := len(r.Attempts); {
	case r.State == change.StateRunning && n > 0:
		until = r.Attempts[n-1].StartedAt.Add(cfg.CallTimeout + cfg.safety())
		if !later {
			until = until.Add(cfg.AckWait)
		}
	case !later:
		until = r.UpdatedAt.Add(cfg.AckWait + cfg.safety())
	default:
		return 0
	}
	return until.Sub(j.w.deps.Now())
}

// supersede drops r's owner when its token sorts after this delivery's
// (the consumer was recreated) and it can no longer act (takeoverWait has
// passed), so that the record's transitions let this delivery act.
func (j *job) supersede(r *change.Record) {
	if r.Owner != nil && j.owner.Before(*r.Owner) && j.takeoverWait(*r) <= 0 {
		r.Owner = nil
	}
}

// mayAct reports whether this delivery may start or hand back an attempt
// of r (see change.Record.MayAct and supersede).
func (j *job) mayAct(r change.Record) bool {
	j.supersede(&r)
	return r.MayAct(j.m.Generation, j.owner)
}

// errOwnerActive refuses a claim when, re-read after a compare-and-swap
// conflict, the record shows another delivery that may still act on it.
var errOwnerActive = errors.New("worker: another delivery may still act on the change")

// adopt moves r to the message's generation when the message is newer.
func (j *job) adopt(r *change.Record, now time.Time) error {
	if j.m.Generation > r.Generation {
		return r.Adopt(j.m, now)
	}
	return nil
}

// waitBehind hands a change back while an earlier change of its resource
// (head, at sequence seq) is queued: until the head's next attempt when it
// waits for one, else shortly (growing with the delivery count), with jitter.
func (j *job) waitBehind(ctx context.Context, seq uint64, head []byte) error {
	jitter := time.Duration(rand.Int64N(int64(behindDelay)))
	// Each hand-back waits a little longer (100 ms more each time, up to
	// 1 s), so a follower of a long-running head costs few requests...
	delay := min(behindDelay*time.Duration(j.d.NumDelivered()), maxBehindDelay) + jitter
	// ... unless the head's record tells when it will be done or tried.
	var hm change.Message
	if err := json.Unmarshal(head, &hm); err == nil && change.ValidID(hm.ID) {
		if rec, rev, err := j.w.deps.Records.Get(ctx, hm.ID); err == nil {
			now := j.w.deps.Now()
			j.watchHead(seq, hm.ID, rec, rev, now)
			switch n := len(rec.Attempts); {
			case rec.State == change.StateRetrying && rec.NextAttemptAt != nil && rec.NextAttemptAt.After(now):
				delay = rec.NextAttemptAt.Sub(now) + jitter
			case rec.State == change.StateRunning && n > 0 && rec.Attempts[n-1].StartedAt.After(now):
				// Claimed a gate slot in the future: done shortly after it.
				delay = rec.Attempts[n-1].StartedAt.Sub(now) + behindDelay + jitter
			}
		}
	}
	j.log.Debug("waiting behind an earlier change of the resource", "head_seq", seq, "delay", delay)
	if err := j.guard(); err != nil {
		return err
	}
	return j.d.Nak(delay)
}

// watchHead feeds what this follower saw of its head to the worker's
// watch, and reports the head when it has not moved for stuckLeases leases:
// the head came before this change, so JetStream delivered it first, and
// any delivery that reached a worker would have moved its record.
func (j *job) watchHead(seq uint64, id string, rec change.Record, rev uint64, now time.Time) {
	if !j.w.watch.observe(seq, rec, rev, now) {
		return
	}
	j.log.Warn("the first change of the resource has not moved for several leases; JetStream is not delivering it",
		"head_seq", seq, "head_change_id", id, "head_state", rec.State)
	j.w.deps.Metrics.StuckHeads.Inc()
	if f := j.w.deps.StuckHead; f != nil {
		f(seq)
	}
}

// behindDelay is the first delay of a change handed back behind its
// resource's running head; it grows by as much with each hand-back, up to
// maxBehindDelay.
const (
	behindDelay    = 100 * time.Millisecond
	maxBehindDelay = time.Second
)
