package change_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/change"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func queued() change.Record {
	return change.NewRecord(change.Message{ID: "chg_" + "aaaaaaaaaaaaaaaaaaaaaaaaaa", Operation: "op",
		Resource: change.Resource{Kind: "Peering", ID: "p-1", Path: "/p"}, AcceptedAt: t0})
}

func running(o change.Owner) (change.Record, change.Attempt) {
	r := queued()
	a, err := r.StartAttempt(0, o, t0)
	if err != nil {
		panic(err)
	}
	return r, a
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	o1 := change.Owner{Seq: 5, Delivery: 1}
	o2 := change.Owner{Seq: 5, Delivery: 2}
	later := t0.Add(time.Second)
	tests := []struct {
		name  string
		setup func() change.Record
		move  func(r *change.Record) error
		want  error
		state change.State
	}{
		{"start from queued", queued, func(r *change.Record) error { _, err := r.StartAttempt(0, o1, later); return err }, nil, change.StateRunning},
		{"later delivery takes over a running attempt", func() change.Record { r, _ := running(o1); return r },
			func(r *change.Record) error { _, err := r.StartAttempt(0, o2, later); return err }, nil, change.StateRunning},
		{"earlier delivery cannot start", func() change.Record { r, _ := running(o2); return r },
			func(r *change.Record) error { _, err := r.StartAttempt(0, o1, later); return err }, change.ErrNotOwner, change.StateRunning},
		{"older generation cannot start", func() change.Record { r := queued(); r.Generation = 1; return r },
			func(r *change.Record) error { _, err := r.StartAttempt(0, o1, later); return err }, change.ErrStaleGeneration, change.StateQueued},
		{"newer generation must adopt first", queued,
			func(r *change.Record) error { _, err := r.StartAttempt(1, o1, later); return err }, change.ErrNewerGeneration, change.StateQueued},
		{"succeed by the owner", func() change.Record { r, _ := running(o1); return r },
			func(r *change.Record) error { return r.Succeed(0, o1, r.Attempts[0], nil, later) }, nil, change.StateSucceeded},
		{"succeed by a stale owner", func() change.Record { r, _ := running(o2); return r },
			func(r *change.Record) error { return r.Succeed(0, o1, r.Attempts[0], nil, later) }, change.ErrNotOwner, change.StateRunning},
		{"fail by the owner", func() change.Record { r, _ := running(o1); return r },
			func(r *change.Record) error { return r.Fail(0, o1, r.Attempts[0], &apierror.Error{Code: "x"}, later) }, nil, change.StateFailed},
		{"retry by the owner", func() change.Record { r, _ := running(o1); return r },
			func(r *change.Record) error {
				return r.ScheduleRetry(0, o1, r.Attempts[0], later.Add(time.Second), "upstream_error", later)
			}, nil, change.StateRetrying},
		{"retry in the past", func() change.Record { r, _ := running(o1); return r },
			func(r *change.Record) error {
				return r.ScheduleRetry(0, o1, r.Attempts[0], t0.Add(-time.Hour), "x", later)
			}, change.ErrIllegal, change.StateRunning},
		{"conclude when not running", queued,
			func(r *change.Record) error { return r.Succeed(0, o1, change.Attempt{Number: 1}, nil, later) }, change.ErrNotOwner, change.StateQueued},
		{"succeeded never changes: retry", succeeded,
			func(r *change.Record) error { return r.ScheduleRetry(0, o1, r.Attempts[0], later, "x", later) }, change.ErrTerminal, change.StateSucceeded},
		{"succeeded never changes: start", succeeded,
			func(r *change.Record) error { _, err := r.StartAttempt(0, o2, later); return err }, change.ErrTerminal, change.StateSucceeded},
		{"succeeded never changes: hand back", succeeded,
			func(r *change.Record) error { return r.HandBack(0, o2, later, "x", later) }, change.ErrTerminal, change.StateSucceeded},
		{"succeeded cannot be requeued", succeeded, func(r *change.Record) error { return requeue(r, later) }, change.ErrIllegal, change.StateSucceeded},
		{"failed is requeued as the next generation", failed, func(r *change.Record) error { return requeue(r, later) }, nil, change.StateQueued},
		{"hand back from queued", queued, func(r *change.Record) error { return r.HandBack(0, o1, later, "x", later) }, nil, change.StateRetrying},
		{"adopt a newer generation", succeeded, func(r *change.Record) error { return r.Adopt(change.Message{Generation: 1}, later) }, nil, change.StateQueued},
		{"adopt the same generation", queued, func(r *change.Record) error { return r.Adopt(change.Message{}, later) }, change.ErrIllegal, change.StateQueued},
		{"mark a non-terminal record", queued, func(r *change.Record) error { return r.MarkTerminalEvent("x") }, change.ErrIllegal, change.StateQueued},
		{"mark a terminal record", succeeded, func(r *change.Record) error { return r.MarkTerminalEvent("x") }, nil, change.StateSucceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.setup()
			before := r
			before.Attempts = slices.Clone(r.Attempts)
			err := tc.move(&r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if err != nil && !reflect.DeepEqual(r, before) {
				t.Fatalf("a refused move changed the record:\n%+v\n%+v", before, r)
			}
			if r.State != tc.state {
				t.Fatalf("state %s, want %s", r.State, tc.state)
			}
		})
	}
}

func succeeded() change.Record {
	o := change.Owner{Seq: 5, Delivery: 1}
	r, a := running(o)
	if err := r.Succeed(0, o, a, nil, t0); err != nil {
		panic(err)
	}
	return r
}

func failed() change.Record {
	o := change.Owner{Seq: 5, Delivery: 1}
	r, a := running(o)
	if err := r.Fail(0, o, a, &apierror.Error{Code: "x"}, t0); err != nil {
		panic(err)
	}
	return r
}

func TestRequeueStartsAFreshGeneration(t *testing.T) {
	t.Parallel()
	r := failed()
	r.TerminalEvent = "x.g0.terminal"
	if err := requeue(&r, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r.Generation != 1 || r.Owner != nil || r.TerminalEvent != "" || r.Error != nil || r.CompletedAt != nil || len(r.Attempts) != 1 {
		t.Fatalf("requeued record %+v", r)
	}
}

func TestMessageRecordRoundTrip(t *testing.T) {
	t.Parallel()
	m := change.Message{ID: "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa", Operation: "op", Resource: change.Resource{Kind: "Peering", ID: "p", Path: "/x"},
		Body: []byte(`{"a":1}`), RequestedBy: "jira", ClientAddress: "1.2.3.4", Reason: "r", Ticket: "T-1", IdempotencyKey: "k",
		AcceptedAt: t0, Generation: 3}
	if got := change.NewRecord(m).Message(m.Body); !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n%+v\n%+v", got, m)
	}
}

// delivery is one simulated worker holding a delivery of the change.
type delivery struct {
	gen     int
	owner   change.Owner
	attempt change.Attempt
	started bool
}

// TestStateMachineUnderInterleavedDeliveries drives one record with random
// interleavings of several deliveries (redeliveries after a lost lease,
// stale workers waking up, operator retries) doing compare-and-swap
// updates, and checks the invariants: at most one terminal per generation,
// a terminal state is never left within its generation, attempt numbers
// only grow.
func TestStateMachineUnderInterleavedDeliveries(t *testing.T) {
	t.Parallel()
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		rec := queued()
		seq := uint64(1)
		var ds []*delivery
		nextDelivery := map[uint64]uint64{}
		terminals := map[int]int{}
		now := t0
		for step := 0; step < 200; step++ {
			now = now.Add(time.Millisecond)
			prev := rec
			prev.Attempts = slices.Clone(rec.Attempts)
			next := rec // the worker works on a copy, then CAS
			var err error
			switch k := rng.IntN(8); {
			case k == 0 || len(ds) == 0: // a (re)delivery arrives
				nextDelivery[seq]++
				ds = append(ds, &delivery{gen: rec.Generation, owner: change.Owner{Seq: seq, Delivery: nextDelivery[seq]}})
				continue
			case k == 1 && rec.State == change.StateFailed && rng.IntN(3) == 0: // operator retry
				err = requeue(&next, now)
				if err == nil {
					seq++
				}
			default:
				d := ds[rng.IntN(len(ds))]
				switch {
				case !d.started:
					d.attempt, err = next.StartAttempt(d.gen, d.owner, now)
					d.started = err == nil
				default:
					switch rng.IntN(3) {
					case 0:
						err = next.Succeed(d.gen, d.owner, d.attempt, nil, now)
					case 1:
						err = next.Fail(d.gen, d.owner, d.attempt, &apierror.Error{}, now)
					default:
						err = next.ScheduleRetry(d.gen, d.owner, d.attempt, now.Add(time.Second), "x", now)
						d.started = false
					}
				}
			}
			if err != nil {
				if !reflect.DeepEqual(next, prev) {
					t.Fatalf("seed %d: refused move changed the record", seed)
				}
				continue
			}
			rec = next
			if prev.Generation == rec.Generation {
				if prev.State.Terminal() && rec.State != prev.State {
					t.Fatalf("seed %d: left terminal %s for %s in generation %d", seed, prev.State, rec.State, rec.Generation)
				}
				if rec.State.Terminal() && !prev.State.Terminal() {
					terminals[rec.Generation]++
				}
			}
			if len(rec.Attempts) < len(prev.Attempts) {
				t.Fatalf("seed %d: attempts shrank", seed)
			}
			for i := 1; i < len(rec.Attempts); i++ {
				if rec.Attempts[i].Number != rec.Attempts[i-1].Number+1 {
					t.Fatalf("seed %d: attempt numbers %v", seed, rec.Attempts)
				}
			}
		}
		for g, n := range terminals {
			if n > 1 {
				t.Fatalf("seed %d: generation %d reached a terminal state %d times", seed, g, n)
			}
		}
	}
}

// requeue is an operator retry of r at at, as an error for the tables.
func requeue(r *change.Record, at time.Time) error {
	if !r.Requeue(change.Retry{By: "op", At: at, Generation: r.Generation + 1}) {
		return change.ErrIllegal
	}
	return nil
}
