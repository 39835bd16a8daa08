package queue

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/records"
)

// failedChange enqueues a change with key, lets a "worker" take and fail
// it, and returns its record.
func failedChange(t *testing.T, e *env, key, body string) change.Record {
	t.Helper()
	rec, _, err := e.q.Enqueue(testCtx(t), request(key, body))
	if err != nil {
		t.Fatal(err)
	}
	e.consume(t, func(r *change.Record) { r.State = change.StateRunning }, nil)
	return e.fail(t, rec.ID, body)
}

func TestRetry(t *testing.T) {
	t.Parallel()
	const body2 = `{"spec":{"display_name":"two","environment":{"id":"env-1"}}}`
	tests := []struct {
		name string
		// run does the retry (or retries) and checks the result; it returns
		// the change id whose generation 1 must be stored once.
		run func(t *testing.T, e *env) string
		// wantG1 is how many generation-1 messages the stream holds at the end.
		wantG1 int
	}{
		{
			name: "a failed change is re-queued with the audit trail",
			run: func(t *testing.T, e *env) string {
				a := failedChange(t, e, "a", body1)
				e.clock.Advance(10)
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				if err != nil {
					t.Fatal(err)
				}
				want := []change.Retry{{By: "ops", At: e.clock.Now().UTC(), Forced: false, Generation: 1}}
				stored, _ := e.record(t, a.ID)
				for _, r := range []change.Record{rec, stored} {
					if r.State != change.StateQueued || r.Generation != 1 || r.CompletedAt != nil || len(r.Retries) != 1 || r.Retries[0] != want[0] {
						t.Fatalf("record after retry: %+v", r)
					}
				}
				return a.ID
			},
			wantG1: 1,
		},
		{
			name: "acknowledgement late: maybe, record stays failed, the repeat re-queues the same generation",
			run: func(t *testing.T, e *env) string {
				a := failedChange(t, e, "a", body1)
				_, err := e.q.Retry(e.lateAck(t), RetryRequest{ID: a.ID, By: "ops"})
				mustBe(t, err, ErrMaybeQueued)
				e.resume(t)
				if rec, _ := e.record(t, a.ID); rec.State != change.StateFailed || rec.Generation != 0 {
					t.Fatalf("record after the late retry: %s generation %d", rec.State, rec.Generation)
				}
				shrinkDuplicateWindow(t, e) // the repeat comes minutes later
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				if err != nil || rec.State != change.StateQueued || rec.Generation != 1 {
					t.Fatalf("repeat: %s generation %d, %v", rec.State, rec.Generation, err)
				}
				if n := e.published(t)[change.MsgID(a.ID, 1)]; n != 1 {
					t.Fatalf("generation 1 published %d times, want 1", n)
				}
				return a.ID
			},
			wantG1: 1,
		},
		{
			name: "acknowledgement late, a worker took the generation before the repeat",
			run: func(t *testing.T, e *env) string {
				a := failedChange(t, e, "a", body1)
				_, err := e.q.Retry(e.lateAck(t), RetryRequest{ID: a.ID, By: "ops"})
				mustBe(t, err, ErrMaybeQueued)
				e.resume(t)
				// What the worker must do with a generation newer than the record.
				e.consume(t, nil, func(m change.Message) {
					rec, rev, err := e.records.Get(testCtx(t), m.ID)
					if err != nil || m.Retry == nil || !rec.Requeue(*m.Retry) {
						t.Fatalf("worker cannot requeue %+v from %+v (%v)", rec, m, err)
					}
					rec.State = change.StateSucceeded
					if _, err := e.records.Update(testCtx(t), rec, rev); err != nil {
						t.Fatal(err)
					}
				})
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				mustBe(t, err, ErrNotFailed)
				if rec.Generation != 1 || rec.State != change.StateSucceeded || len(rec.Retries) != 1 {
					t.Fatalf("record: %+v", rec)
				}
				if n := e.published(t)[change.MsgID(a.ID, 1)]; n != 1 {
					t.Fatalf("generation 1 published %d times, want 1", n)
				}
				return a.ID
			},
			wantG1: 0, // consumed
		},
		{
			name: "stale unless forced, naming the newer change; forced is recorded",
			run: func(t *testing.T, e *env) string {
				a := failedChange(t, e, "a", body1)
				b, _, err := e.q.Enqueue(testCtx(t), request("b", body2))
				if err != nil {
					t.Fatal(err)
				}
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				var se *StaleError
				if !errors.As(err, &se) || !errors.Is(err, ErrStale) || se.Newer != b.ID || se.NewerState != change.StateQueued {
					t.Fatalf("retry of the older change: %v (%+v)", err, se)
				}
				if rec.State != change.StateFailed {
					t.Fatalf("record after the refusal: %s", rec.State)
				}
				if n := e.published(t)[change.MsgID(a.ID, 1)]; n != 0 {
					t.Fatal("a refused retry published")
				}
				rec, err = e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops", Force: true})
				if err != nil || rec.Generation != 1 || len(rec.Retries) != 1 || !rec.Retries[0].Forced || rec.Retries[0].By != "ops" {
					t.Fatalf("forced retry: %+v %v", rec, err)
				}
				if l, _, _ := e.q.latest(testCtx(t), peering1); l.ChangeID != a.ID || l.Generation != 1 {
					t.Fatalf("latest after the forced retry: %+v", l)
				}
				return a.ID
			},
			wantG1: 1,
		},
		{
			name: "a change that is not failed: the current state",
			run: func(t *testing.T, e *env) string {
				a, _, err := e.q.Enqueue(testCtx(t), request("a", body1))
				if err != nil {
					t.Fatal(err)
				}
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				mustBe(t, err, ErrNotFailed)
				if rec.State != change.StateQueued {
					t.Fatalf("state %s", rec.State)
				}
				return a.ID
			},
			wantG1: 0,
		},
		{
			name: "an unknown change",
			run: func(t *testing.T, e *env) string {
				_, err := e.q.Retry(testCtx(t), RetryRequest{ID: change.NewID(), By: "ops"})
				mustBe(t, err, records.ErrNotFound)
				return ""
			},
		},
		{
			name: "link lost while publishing: the record untouched, the repeat re-queues",
			run: func(t *testing.T, e *env) string {
				a := failedChange(t, e, "a", body1)
				e.proxy.CutOn(publishPattern)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, err := e.q.Retry(ctx, RetryRequest{ID: a.ID, By: "ops"})
				mustBe(t, err, ErrMaybeQueued)
				e.resume(t)
				if rec, _ := e.record(t, a.ID); rec.State != change.StateFailed || rec.Generation != 0 {
					t.Fatalf("record: %s generation %d", rec.State, rec.Generation)
				}
				rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops"})
				if err != nil || rec.Generation != 1 {
					t.Fatalf("retry after the link is back: %+v %v", rec, err)
				}
				return a.ID
			},
			wantG1: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := tt.run(t, e)
			if id == "" {
				return
			}
			want := map[string]int{}
			if tt.wantG1 > 0 {
				want[change.MsgID(id, 1)] = tt.wantG1
			}
			got := e.stored(t)
			delete(got, change.MsgID(id, 0))
			for k := range got {
				if k != change.MsgID(id, 1) {
					delete(got, k) // other changes of the test
				}
			}
			if !maps.Equal(got, want) {
				t.Fatalf("stream holds %v, want %v", got, want)
			}
		})
	}
}

// TestRetryRacing: operators retrying the same change at once re-queue one
// generation with one message; each gets the re-queued record.
func TestRetryRacing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := failedChange(t, e, "a", body1)
	const n = 6
	type result struct {
		rec change.Record
		err error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			rec, err := e.q.Retry(testCtx(t), RetryRequest{ID: a.ID, By: "ops-" + string(rune('a'+i))})
			results <- result{rec, err}
		}()
	}
	close(start)
	for range n {
		r := <-results
		// A caller that read the record after another's retry took effect
		// sees it not failed any more; every other gets generation 1.
		if r.err != nil && !errors.Is(r.err, ErrNotFailed) {
			t.Fatalf("racing retry: %v", r.err)
		}
		if r.rec.Generation != 1 {
			t.Fatalf("racing retry answered generation %d (%v)", r.rec.Generation, r.err)
		}
	}
	rec, _ := e.record(t, a.ID)
	if rec.Generation != 1 || rec.State != change.StateQueued || len(rec.Retries) != 1 {
		t.Fatalf("record after racing retries: %+v", rec)
	}
	if got := e.stored(t)[change.MsgID(a.ID, 1)]; got != 1 {
		t.Fatalf("generation 1 stored %d times", got)
	}
}

func TestNewNilDependency(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), Deps{}); err == nil {
		t.Fatal("New without dependencies succeeded")
	}
}
