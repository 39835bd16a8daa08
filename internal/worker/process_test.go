package worker

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/retry"
)

const (
	idA = "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "chg_bbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestHeadRunsAndEndsWithOneMarkedTerminalEvent(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	_, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	b.handle(d)
	rec, _, err := b.store.Get(context.Background(), idA)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != change.StateSucceeded || rec.TerminalEvent != events.ID(rec) || rec.Owner == nil || *rec.Owner != (change.Owner{Seq: 7, Delivery: 1}) {
		t.Fatalf("record %+v", rec)
	}
	if acks, naks, _ := d.settled(); acks != 1 || naks != 0 {
		t.Fatalf("acks %d naks %d", acks, naks)
	}
	if got := b.events.states(); !slices.Equal(got, []change.State{change.StateSucceeded}) {
		t.Fatalf("events %v", got)
	}
	// A redelivery (the ack was lost) acks again without a second event.
	d2 := &fakeDelivery{data: d.data, seq: 7, dc: 2}
	b.handle(d2)
	if acks, _, _ := d2.settled(); acks != 1 || len(b.events.states()) != 1 || b.up.count() != 1 {
		t.Fatalf("redelivery: acks %d, events %v, calls %d", acks, b.events.states(), b.up.count())
	}
}

func TestTerminalRecordWithoutMarkPublishesOnce(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	m, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	rec := change.NewRecord(m)
	o := change.Owner{Seq: 7, Delivery: 1}
	a, _ := rec.StartAttempt(0, o, msgTime)
	_ = rec.Succeed(0, o, a, nil, msgTime) // crashed before publishing
	b.store.put(rec)
	d.dc = 2
	b.handle(d)
	got, _, _ := b.store.Get(context.Background(), idA)
	if len(b.events.states()) != 1 || got.TerminalEvent == "" || b.up.count() != 0 {
		t.Fatalf("events %v, mark %q, calls %d", b.events.states(), got.TerminalEvent, b.up.count())
	}
}

func TestChangeBehindItsResourceHeadWaits(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	hm, head := b.message(idA, "p-1", 3, 0)
	_, d := b.message(idB, "p-1", 9, 0)
	b.setHead("p-1", 3, head.data)

	// The head runs (or is about to): a short delay.
	b.handle(d)
	_, naks, _ := d.settled()
	if naks != 1 || d.nakDelay > time.Second || b.up.count() != 0 || b.store.writes != 0 {
		t.Fatalf("naks %d delay %s calls %d writes %d", naks, d.nakDelay, b.up.count(), b.store.writes)
	}
	if _, _, err := b.store.Get(context.Background(), idB); err == nil {
		t.Fatal("a change behind its head wrote a record")
	}

	// The head waits for a retry in 30s: wait about as long.
	rec := change.NewRecord(hm)
	next := time.Now().Add(30 * time.Second)
	rec.State, rec.NextAttemptAt = change.StateRetrying, &next
	b.store.put(rec)
	d2 := &fakeDelivery{data: d.data, seq: 9, dc: 2}
	b.handle(d2)
	if d2.nakDelay < 29*time.Second || d2.nakDelay > 31*time.Second {
		t.Fatalf("delay behind a waiting head %s", d2.nakDelay)
	}
}

// TestASmallerOwnerTokenWaitsForTheOwner: a delivery whose token sorts
// before the record's owner (the workers' consumer was recreated and
// counts deliveries from 1 again) hands the change back while that owner
// may still act (its running attempt, or a lease after its last write),
// and acts once it cannot; it never writes, calls or publishes before.
func TestASmallerOwnerTokenWaitsForTheOwner(t *testing.T) {
	const ackWait, callTimeout = 3 * time.Second, time.Second
	safety := Config{AckWait: ackWait}.safety()
	for _, tc := range []struct {
		name  string
		state change.State
		ago   time.Duration // the owner's attempt start (running) or last write
		wait  time.Duration // 0: acts at once
	}{
		{"running recently", change.StateRunning, 0, callTimeout + ackWait + safety},
		{"running long ago", change.StateRunning, time.Hour, 0},
		{"handed back recently", change.StateRetrying, 0, ackWait + safety},
		{"handed back long ago", change.StateRetrying, time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, ackWait, callTimeout)
			m, d := b.message(idA, "p-1", 7, 0)
			b.setHead("p-1", 7, d.data)
			at := time.Now().Add(-tc.ago)
			rec := change.NewRecord(m)
			if _, err := rec.StartAttempt(0, change.Owner{Seq: 7, Delivery: 5}, at); err != nil {
				t.Fatal(err)
			}
			if tc.state == change.StateRetrying {
				if err := rec.HandBack(0, change.Owner{Seq: 7, Delivery: 5}, at.Add(time.Second), retry.ReasonRateLimited, at); err != nil {
					t.Fatal(err)
				}
			}
			b.store.put(rec)
			d.dc = 3
			b.handle(d)
			acks, naks, _ := d.settled()
			got, _, _ := b.store.Get(context.Background(), idA)
			if tc.wait == 0 {
				if b.up.count() != 1 || acks != 1 || got.State != change.StateSucceeded || *got.Owner != (change.Owner{Seq: 7, Delivery: 3}) {
					t.Fatalf("did not act: calls %d acks %d record %s owner %+v", b.up.count(), acks, got.State, got.Owner)
				}
				return
			}
			if b.up.count() != 0 || naks != 1 || b.store.writes != 0 || len(b.events.states()) != 0 {
				t.Fatalf("acted while the owner may: calls %d naks %d writes %d events %v", b.up.count(), naks, b.store.writes, b.events.states())
			}
			if d.nakDelay < tc.wait-300*time.Millisecond || d.nakDelay > tc.wait {
				t.Fatalf("handed back for %s, want about %s", d.nakDelay, tc.wait)
			}
		})
	}
}

// TestConflictReappliesOnlyWhileOwned: a compare-and-swap conflict whose
// re-read shows a later owner (or a terminal state) ends the delivery
// without writing; an unrelated write is re-applied on.
func TestConflictReappliesOnlyWhileOwned(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interfere func(r *change.Record)
		wantState change.State
		wantAcks  int
	}{
		{"later owner took over", func(r *change.Record) { r.Owner = &change.Owner{Seq: 7, Delivery: 9} }, change.StateRunning, 0},
		{"record became terminal", func(r *change.Record) { r.State = change.StateSucceeded }, change.StateSucceeded, 0},
		{"unrelated write", func(r *change.Record) { r.UpdatedAt = r.UpdatedAt.Add(time.Millisecond) }, change.StateSucceeded, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, 3*time.Second, time.Second)
			_, d := b.message(idA, "p-1", 7, 0)
			b.setHead("p-1", 7, d.data)
			done := false
			b.store.beforeUpdate = func(s *fakeStore, rec change.Record) {
				if rec.State.Terminal() && !done { // the conclusion
					done = true
					cur, _, _ := s.Get(context.Background(), rec.ID)
					tc.interfere(&cur)
					s.put(cur)
				}
			}
			b.handle(d)
			rec, _, _ := b.store.Get(context.Background(), idA)
			acks, naks, _ := d.settled()
			if rec.State != tc.wantState || acks != tc.wantAcks || naks != 0 {
				t.Fatalf("state %s acks %d naks %d", rec.State, acks, naks)
			}
			if tc.wantAcks == 0 && len(b.events.states()) != 0 {
				t.Fatalf("a delivery that lost the change published %v", b.events.states())
			}
		})
	}
}

func TestNewerGenerationMessageIsAuthoritative(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	m, d := b.message(idA, "p-1", 20, 1)
	b.setHead("p-1", 20, d.data)
	old := m
	old.Generation = 0
	rec := change.NewRecord(old)
	o := change.Owner{Seq: 7, Delivery: 1}
	a, _ := rec.StartAttempt(0, o, msgTime)
	_ = rec.Fail(0, o, a, nil, msgTime)
	rec.TerminalEvent = events.ID(rec)
	b.store.put(rec)
	b.handle(d)
	got, _, _ := b.store.Get(context.Background(), idA)
	if got.Generation != 1 || got.State != change.StateSucceeded || len(got.Attempts) != 2 || got.TerminalEvent != events.ID(got) {
		t.Fatalf("record %+v", got)
	}
}

// TestLostLeaseDuringTheCallDropsTheDelivery: heartbeats stop being
// confirmed once the call started and the call outlives the lease (a
// process pause does that); the worker then neither writes nor publishes
// nor acks nor naks.
func TestLostLeaseDuringTheCallDropsTheDelivery(t *testing.T) {
	b := newBundle(t, 2200*time.Millisecond, 100*time.Millisecond)
	_, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	calling := make(chan struct{})
	d.heartbeat = func(ctx context.Context) error {
		select {
		case <-calling: // the link is gone once the call started
			<-ctx.Done()
			return ctx.Err()
		default:
			return nil
		}
	}
	b.up.do = func(ctx context.Context) (*ccloud.Response, error) {
		close(calling)
		time.Sleep(2500 * time.Millisecond) // frozen past the lease
		return &ccloud.Response{Status: 200, Body: []byte(`{}`)}, nil
	}
	b.handle(d)
	rec, _, _ := b.store.Get(context.Background(), idA)
	acks, naks, terms := d.settled()
	if rec.State != change.StateRunning || acks+naks+terms != 0 || len(b.events.states()) != 0 {
		t.Fatalf("after losing the lease: state %s acks %d naks %d terms %d events %v", rec.State, acks, naks, terms, b.events.states())
	}
}

// TestPauseBeforeTheCallHandsTheChangeBack: a pause between claiming the
// attempt and starting the call leaves less lease than the call may last,
// so the call does not start.
func TestPauseBeforeTheCallHandsTheChangeBack(t *testing.T) {
	b := newBundle(t, 2500*time.Millisecond, 400*time.Millisecond)
	_, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	var paused atomic.Bool
	d.heartbeat = func(ctx context.Context) error {
		if paused.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	b.w.deps.Hooks.BeforeCall = func(string) { paused.Store(true); time.Sleep(2100 * time.Millisecond) }
	b.handle(d)
	if b.up.count() != 0 {
		t.Fatal("the call started on a lease shorter than the call timeout")
	}
	if _, naks, _ := d.settled(); naks != 1 {
		t.Fatalf("naks %d, want the change handed back", naks)
	}
}

func TestLeaseCancelsItsContextAtTheDeadline(t *testing.T) {
	d := &fakeDelivery{heartbeat: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	start := time.Now()
	l := newLease(context.Background(), d, start, 300*time.Millisecond, 0)
	defer l.stop()
	go l.keepAlive(50*time.Millisecond, func() {})
	select {
	case <-l.ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("lease context not cancelled")
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("cancelled after %s, before the deadline", el)
	}
	if !errors.Is(context.Cause(l.ctx), ErrLeaseLost) {
		t.Fatalf("cause %v", context.Cause(l.ctx))
	}
}

func TestLeaseIgnoresLateConfirmation(t *testing.T) {
	d := &fakeDelivery{}
	l := newLease(context.Background(), d, time.Now(), 300*time.Millisecond, 0)
	defer l.stop()
	d.heartbeat = func(ctx context.Context) error {
		time.Sleep(400 * time.Millisecond) // confirmed after the deadline
		return nil
	}
	if err := l.renew(context.Background()); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("late confirmation: %v", err)
	}
	if l.ok(0) || l.ctx.Err() == nil {
		t.Fatal("lease still alive after its deadline")
	}
	if err := l.renew(context.Background()); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a lost lease renewed: %v", err)
	}
}

func TestLeaseExtendsFromTheSendTime(t *testing.T) {
	d := &fakeDelivery{}
	start := time.Now()
	l := newLease(context.Background(), d, start, time.Second, 0)
	defer l.stop()
	time.Sleep(300 * time.Millisecond)
	if err := l.renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := l.remaining(); r < 800*time.Millisecond || r > time.Second {
		t.Fatalf("remaining %s after a renewal", r)
	}
}

func TestConfigRefusesALeaseShorterThanTheCall(t *testing.T) {
	cfg := Config{AckWait: 30 * time.Second, CallTimeout: 30 * time.Second, Concurrency: 1, Policy: newBundleTestPolicy()}
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("ack wait == call timeout accepted: %v", err)
	}
	cfg.AckWait = 32 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.MaxHold = 40 * time.Second
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("a hold limit shorter than two leases accepted: %v", err)
	}
}

// TestNoTakeoverWhileAnEarlierAttemptMayRun: a redelivery that finds a
// running attempt of an earlier delivery started less than the call
// timeout ago (JetStream redelivered early) hands the change back until
// that attempt must have ended; an older running attempt is taken over.
func TestNoTakeoverWhileAnEarlierAttemptMayRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		started  time.Duration // before now
		takeover bool
		dc       uint64 // this delivery's count; the attempt's owner has 1
	}{
		{"recent attempt", 0, false, 2},
		{"attempt past the call timeout", 5 * time.Second, true, 2},
		// A recreated consumer counts deliveries from 1 again: an equal
		// token is not this delivery's own claim.
		{"recent attempt with an equal owner token", 0, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, 3*time.Second, time.Second)
			m, d := b.message(idA, "p-1", 7, 0)
			b.setHead("p-1", 7, d.data)
			rec := change.NewRecord(m)
			if _, err := rec.StartAttempt(0, change.Owner{Seq: 7, Delivery: 1}, time.Now().Add(-tc.started)); err != nil {
				t.Fatal(err)
			}
			b.store.put(rec)
			d.dc = tc.dc
			b.handle(d)
			acks, naks, _ := d.settled()
			if tc.takeover {
				if b.up.count() != 1 || acks != 1 {
					t.Fatalf("not taken over: calls %d acks %d", b.up.count(), acks)
				}
				return
			}
			// Until the attempt must have ended (call timeout 1s + margin
			// 150ms); with an equal token the owner may hold its lease for
			// one more lease (3s).
			want := time.Second + 150*time.Millisecond
			if tc.dc == 1 {
				want += 3 * time.Second
			}
			if b.up.count() != 0 || naks != 1 || d.nakDelay < want-300*time.Millisecond || d.nakDelay > want {
				t.Fatalf("calls %d naks %d delay %s, want about %s", b.up.count(), naks, d.nakDelay, want)
			}
		})
	}
}

// closingGate reserves a slot at once, but is closed (a 429 elsewhere) by
// the time the slot comes.
type closingGate struct{ openGate }

func (closingGate) Blocked(string) time.Time { return time.Now().Add(time.Second) }

// TestGateClosingAfterTheClaimRecordsANotSentAttempt: the attempt is
// claimed when the slot is reserved; if the gate closes before the slot,
// nothing is sent, the attempt is recorded as not sent (no error budget)
// and the change handed back until the gate opens.
func TestGateClosingAfterTheClaimRecordsANotSentAttempt(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	b.w.deps.Gate = closingGate{}
	_, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	b.handle(d)
	rec, _, _ := b.store.Get(context.Background(), idA)
	_, naks, _ := d.settled()
	if b.up.count() != 0 || naks != 1 || d.nakDelay < 900*time.Millisecond {
		t.Fatalf("calls %d naks %d delay %s", b.up.count(), naks, d.nakDelay)
	}
	if rec.State != change.StateRetrying || len(rec.Attempts) != 1 || rec.Attempts[0].Error == nil || rec.Attempts[0].Error.Code != notSentCode {
		t.Fatalf("record %+v", rec)
	}
	if n := errorAttempts(rec.Attempts, 0); n != 0 {
		t.Fatalf("a not-sent attempt counted as %d error attempts", n)
	}
}

// TestAStuckJobReleasesItsDeliveryAtTheHoldLimit: a job waiting for an
// answer that never comes (here a record read) renews its lease only up to
// MaxHold; then its heartbeats stop, the lease runs out and the job gives
// up without acking or naking, so JetStream redelivers the change. Without
// the limit it would hold the change for ever.
func TestAStuckJobReleasesItsDeliveryAtTheHoldLimit(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	b.w.cfg.AckWait, b.w.cfg.MaxHold = 300*time.Millisecond, 600*time.Millisecond
	b.store.hangGet = true
	_, d := b.message(idA, "p-1", 3, 0)
	b.setHead("p-1", 3, d.data)
	var beats atomic.Int64
	d.heartbeat = func(context.Context) error { beats.Add(1); return nil }
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); b.handle(d) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck job still holds its delivery")
	}
	if el := time.Since(start); el < b.w.cfg.MaxHold {
		t.Fatalf("released after %s, before the hold limit %s", el, b.w.cfg.MaxHold)
	}
	if acks, naks, terms := d.settled(); acks+naks+terms != 0 {
		t.Fatalf("acks %d naks %d terms %d: a released delivery must be left to JetStream", acks, naks, terms)
	}
	if beats.Load() == 0 {
		t.Fatal("no heartbeat before the hold limit")
	}
}

// losingGate never reserves: the next slot is always a moment away, and
// each ask moves the clock on (others keep taking the slot first).
type losingGate struct {
	openGate
	clock *clocktest.Clock
	asks  *atomic.Int64
}

func (g losingGate) Reserve(context.Context, string) (gate.Decision, error) {
	g.asks.Add(1)
	g.clock.Advance(500 * time.Millisecond)
	return gate.Decision{RetryAt: g.clock.Now().Add(time.Millisecond)}, nil
}

// TestInLineGateWaitsEndAfterALease: a change that keeps losing the race
// for the next rate-limit slot waits in-line for one lease at most, then is
// handed back (retrying, reason rate_limited) instead of holding its
// delivery until the hold limit.
func TestInLineGateWaitsEndAfterALease(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	clock := clocktest.New(msgTime.Add(time.Hour)) // the message's record is long due
	var asks atomic.Int64
	b.w.deps.Now, b.w.deps.Gate = clock.Now, losingGate{clock: clock, asks: &asks}
	_, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	done := make(chan struct{})
	go func() { defer close(done); b.handle(d) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still waiting in-line after %d asks", asks.Load())
	}
	if n := asks.Load(); n < 2 || n > 8 {
		t.Fatalf("asked the gate %d times, want a few within one lease (3 s at 0.5 s each)", n)
	}
	if _, naks, _ := d.settled(); naks != 1 || b.up.count() != 0 {
		t.Fatalf("naks %d calls %d: want the change handed back, nothing sent", naks, b.up.count())
	}
	rec, _, _ := b.store.Get(context.Background(), idA)
	if rec.State != change.StateRetrying || rec.RetryReason != retry.ReasonRateLimited {
		t.Fatalf("record %s (%s), want retrying (rate_limited)", rec.State, rec.RetryReason)
	}
}

// TestNoClaimOverAnAttemptStartedMeanwhile: the record was free when read,
// but another delivery claimed an attempt before this one's claim was
// stored (a compare-and-swap conflict). Re-read, the record shows an
// attempt that may still run: this delivery must not claim over it, even
// with a later token (it would call while the other call may be open).
func TestNoClaimOverAnAttemptStartedMeanwhile(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	m, d := b.message(idA, "p-1", 7, 0)
	b.setHead("p-1", 7, d.data)
	b.store.put(change.NewRecord(m))
	d.dc = 4
	var once sync.Once
	b.store.beforeUpdate = func(s *fakeStore, rec change.Record) {
		once.Do(func() {
			other := change.NewRecord(m)
			if _, err := other.StartAttempt(0, change.Owner{Seq: 7, Delivery: 2}, time.Now()); err != nil {
				t.Error(err)
			}
			s.put(other)
		})
	}
	b.handle(d)
	got, _, _ := b.store.Get(context.Background(), idA)
	if b.up.count() != 0 || got.Owner == nil || *got.Owner != (change.Owner{Seq: 7, Delivery: 2}) || len(got.Attempts) != 1 {
		t.Fatalf("claimed over a running attempt: calls %d owner %+v attempts %d", b.up.count(), got.Owner, len(got.Attempts))
	}
}

// TestAFreshChangeWaitsForTheIntakesRecord: a change delivered before the
// intake wrote its record (it does so right after the publish) is handed
// back briefly rather than recorded by the worker, which would make the
// intake answer its client as a replay; an old change without a record
// (the api failed between its two writes) is recorded from the message.
func TestAFreshChangeWaitsForTheIntakesRecord(t *testing.T) {
	b := newBundle(t, 3*time.Second, time.Second)
	m, d := b.message(idA, "p-1", 7, 0)
	m.AcceptedAt = time.Now().UTC()
	d.data, _ = json.Marshal(m)
	b.setHead("p-1", 7, d.data)
	b.handle(d)
	if _, _, err := b.store.Get(context.Background(), idA); !errors.Is(err, records.ErrNotFound) {
		t.Fatalf("the worker wrote the record of a fresh change: %v", err)
	}
	if _, naks, _ := d.settled(); naks != 1 || d.nakDelay != recordPendingDelay || b.up.count() != 0 {
		t.Fatalf("naks %d delay %s calls %d: want the change handed back briefly", naks, d.nakDelay, b.up.count())
	}
	b.w.deps.Now = func() time.Time { return time.Now().Add(recordGrace) }
	d2 := &fakeDelivery{data: d.data, seq: 7, dc: 2}
	b.handle(d2)
	rec, _, err := b.store.Get(context.Background(), idA)
	if err != nil || rec.State != change.StateSucceeded || b.up.count() != 1 {
		t.Fatalf("after the grace: record %s, %v; calls %d", rec.State, err, b.up.count())
	}
}
