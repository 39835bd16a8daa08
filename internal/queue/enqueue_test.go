package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// TestEnqueueStepByStep is the README's "Enqueue, step by step" table: for
// each step a crash or timeout after it, what it leaves, and that the
// client's retry with the same Idempotency-Key gets the one change: one
// message in the stream, one record, the same id.
func TestEnqueueStepByStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// first is the interrupted call (or the state it leaves); it
		// returns the change id the key names.
		first func(t *testing.T, e *env) string
		// wantFirstErr is the first call's error class (nil: it succeeded).
		wantFirstErr error
		// stored is what the stream holds after the first call.
		stored int
		// wantCreated: the retry is the call that creates the record.
		wantCreated bool
		// wantState is the record's state after the retry.
		wantState change.State
		// publishes is how many publishes the server saw in all.
		publishes int
	}{
		{
			name: "nothing interrupted: the retry replays",
			first: func(t *testing.T, e *env) string {
				rec, created, err := e.q.Enqueue(testCtx(t), request("k", body1))
				if err != nil || !created {
					t.Fatalf("first: created %v, %v", created, err)
				}
				return rec.ID
			},
			stored: 1, wantState: change.StateQueued, publishes: 1,
		},
		{
			name: "crash after the key, before the publish",
			first: func(t *testing.T, e *env) string {
				hash, err := requestHash(request("k", body1))
				if err != nil {
					t.Fatal(err)
				}
				id := change.NewID()
				entry, _ := json.Marshal(idemEntry{ChangeID: id, RequestHash: hash, AcceptedAt: e.clock.Now()})
				if _, err := e.q.idem.Create(testCtx(t), idempotencyKVKey("jira", "k"), entry); err != nil {
					t.Fatal(err)
				}
				return id
			},
			stored: 0, wantCreated: true, wantState: change.StateQueued, publishes: 1,
		},
		{
			name: "link lost while publishing (not stored)",
			first: func(t *testing.T, e *env) string {
				e.proxy.CutOn(publishPattern)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, _, err := e.q.Enqueue(ctx, request("k", body1))
				mustBe(t, err, ErrMaybeQueued)
				return e.keyEntry(t, "k").ChangeID
			},
			wantFirstErr: ErrMaybeQueued, stored: 0, wantCreated: true, wantState: change.StateQueued, publishes: 1,
		},
		{
			name: "publish acknowledgement late (stored)",
			first: func(t *testing.T, e *env) string {
				_, _, err := e.q.Enqueue(e.lateAck(t), request("k", body1))
				mustBe(t, err, ErrMaybeQueued)
				return e.keyEntry(t, "k").ChangeID
			},
			wantFirstErr: ErrMaybeQueued, stored: 1, wantCreated: true, wantState: change.StateQueued, publishes: 1,
		},
		{
			name: "publish acknowledgement late, retried after the duplicates window",
			first: func(t *testing.T, e *env) string {
				_, _, err := e.q.Enqueue(e.lateAck(t), request("k", body1))
				mustBe(t, err, ErrMaybeQueued)
				shrinkDuplicateWindow(t, e)
				return e.keyEntry(t, "k").ChangeID
			},
			wantFirstErr: ErrMaybeQueued, stored: 1, wantCreated: true, wantState: change.StateQueued, publishes: 1,
		},
		{
			name: "publish acknowledgement late, a worker took the change before the retry",
			first: func(t *testing.T, e *env) string {
				_, _, err := e.q.Enqueue(e.lateAck(t), request("k", body1))
				mustBe(t, err, ErrMaybeQueued)
				e.resume(t)
				e.waitStored(t, 1)
				// A worker records the change it received, runs and acks it.
				msg := e.consumeRecording(t)
				return msg.ID
			},
			wantFirstErr: ErrMaybeQueued, stored: 0, wantCreated: false, wantState: change.StateSucceeded, publishes: 1,
		},
		{
			name: "record not written after the publish",
			first: func(t *testing.T, e *env) string {
				if err := e.js.DeleteKeyValue(testCtx(t), topology.RecordsBucket); err != nil {
					t.Fatal(err)
				}
				_, _, err := e.q.Enqueue(testCtx(t), request("k", body1))
				mustBe(t, err, ErrMaybeQueued)
				testkit.EnsureTopology(t, e.js) // the bucket is back
				return e.keyEntry(t, "k").ChangeID
			},
			wantFirstErr: ErrMaybeQueued, stored: 1, wantCreated: true, wantState: change.StateQueued, publishes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := tt.first(t, e)
			e.resume(t)
			e.waitStored(t, tt.stored)
			if tt.wantFirstErr != nil {
				if rec, found := e.record(t, id); found && rec.State == change.StateQueued {
					t.Fatalf("record of %s readable after the first call failed: %+v", id, rec)
				}
			}

			rec, created, err := e.q.Enqueue(testCtx(t), request("k", body1))
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if rec.ID != id || created != tt.wantCreated || rec.State != tt.wantState {
				t.Fatalf("retry = %s created %v state %s; want %s created %v state %s",
					rec.ID, created, rec.State, id, tt.wantCreated, tt.wantState)
			}
			// The 202 is never followed by a 404.
			if got, found := e.record(t, id); !found || got.ID != id {
				t.Fatalf("record of %s not readable after the retry", id)
			}
			wantStored := map[string]int{}
			if tt.wantState == change.StateQueued {
				wantStored[change.MsgID(id, 0)] = 1
			}
			if got := e.stored(t); !maps.Equal(got, wantStored) {
				t.Fatalf("stream holds %v, want %v", got, wantStored)
			}
			if got := e.published(t); got[change.MsgID(id, 0)] != tt.publishes || len(got) != 1 {
				t.Fatalf("publishes %v, want %d of %s", got, tt.publishes, change.MsgID(id, 0))
			}
			if l, found, err := e.q.latest(testCtx(t), peering1); err != nil || !found || l.ChangeID != id {
				t.Fatalf("latest change of the resource = %+v %v %v, want %s", l, found, err, id)
			}
			// A further retry replays the same record.
			again, created, err := e.q.Enqueue(testCtx(t), request("k", body1))
			if err != nil || created || again.ID != id {
				t.Fatalf("second retry = %s created %v %v", again.ID, created, err)
			}
		})
	}
}

func TestEnqueueNATSDownNothingQueued(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.proxy.Refuse(true)
	testkit.Eventually(t, 5*time.Second, "api disconnected", func() (bool, string) { return !e.nc.IsConnected(), e.nc.Status().String() })
	for _, key := range []string{"", "k"} {
		_, _, err := e.q.Enqueue(testCtx(t), request(key, body1))
		mustBe(t, err, ErrNotQueued)
	}
	e.proxy.Refuse(false)
	testkit.Eventually(t, 10*time.Second, "api reconnected", func() (bool, string) { return e.nc.IsConnected(), e.nc.Status().String() })
	if got := e.published(t); len(got) != 0 {
		t.Fatalf("publishes while down: %v", got)
	}
	rec, created, err := e.q.Enqueue(testCtx(t), request("k", body1))
	if err != nil || !created {
		t.Fatalf("after NATS is back: created %v, %v", created, err)
	}
	if got := e.stored(t); !maps.Equal(got, map[string]int{change.MsgID(rec.ID, 0): 1}) {
		t.Fatalf("stream holds %v", got)
	}
}

// TestEnqueueRacingIdenticalRequests: of identical requests racing (some
// with their members in another order), exactly one creates the change.
func TestEnqueueRacingIdenticalRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bodies := []string{body1, `{"spec":{"environment":{"id":"env-1"},"display_name":"one"}}`,
		" {\n \"spec\" : {\"environment\":{\"id\":\"env-1\"}, \"display_name\":\"one\"}}"}
	const n = 9
	type result struct {
		rec     change.Record
		created bool
		err     error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec, created, err := e.q.Enqueue(testCtx(t), request("race", bodies[i%len(bodies)]))
			results <- result{rec, created, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	created, ids := 0, map[string]bool{}
	for r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		ids[r.rec.ID] = true
		if r.created {
			created++
		}
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d created, ids %v; want 1 created and one id", created, ids)
	}
	for id := range ids {
		if got := e.stored(t); !maps.Equal(got, map[string]int{change.MsgID(id, 0): 1}) {
			t.Fatalf("stream holds %v", got)
		}
	}
}

func TestEnqueueIdempotencyConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, _, err := e.q.Enqueue(testCtx(t), request("k", body1)); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.q.Enqueue(testCtx(t), request("k", `{"spec":{"display_name":"two","environment":{"id":"env-1"}}}`))
	mustBe(t, err, ErrIdempotencyConflict)
}

func TestRequestHashCanonical(t *testing.T) {
	t.Parallel()
	base := `{"a":1,"b":{"c":[1,2,{"d":"x","e":null}],"f":true}}`
	tests := []struct {
		name, body string
		same       bool
	}{
		{"identical", base, true},
		{"members reordered at every level", `{"b":{"f":true,"c":[1,2,{"e":null,"d":"x"}]},"a":1}`, true},
		{"whitespace", " {\n\t\"a\" : 1 , \"b\":{\"c\":[ 1,2 ,{\"d\":\"x\",\"e\":null}],\"f\":true}}\n", true},
		{"escaped the same string", `{"a":1,"b":{"c":[1,2,{"d":"\u0078","e":null}],"f":true}}`, true},
		{"array order matters", `{"a":1,"b":{"c":[2,1,{"d":"x","e":null}],"f":true}}`, false},
		{"number text matters", `{"a":1.0,"b":{"c":[1,2,{"d":"x","e":null}],"f":true}}`, false},
		{"value differs", `{"a":2,"b":{"c":[1,2,{"d":"x","e":null}],"f":true}}`, false},
		{"null versus absent", `{"a":1,"b":{"c":[1,2,{"d":"x"}],"f":true}}`, false},
	}
	want, err := requestHash(request("", base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestHash(request("", tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tt.same {
				t.Fatalf("same hash = %v, want %v", got == want, tt.same)
			}
		})
	}
	other := request("", base)
	other.Resource.Path = "/networking/v1/peerings/p-2"
	if h, _ := requestHash(other); h == want {
		t.Fatal("another resource hashes the same")
	}
	if _, err := requestHash(request("", `{"a":`)); err == nil {
		t.Fatal("malformed body hashed")
	}
}

// mustBe fails unless err matches want.
func mustBe(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

// shrinkDuplicateWindow sets the change stream's duplicates window to its
// minimum and waits until it has passed, as if the client retried minutes
// later.
func shrinkDuplicateWindow(t *testing.T, e *env) {
	t.Helper()
	ctx := testCtx(t)
	st, err := e.js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = 100 * time.Millisecond
	if _, err := e.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a window is a span of time: nothing to poll
	_ = fmt.Sprint()
}

// consumeRecording takes the first message as a worker would: it creates
// the record from the message if missing, concludes it and acks.
func (e *env) consumeRecording(t *testing.T) change.Message {
	t.Helper()
	return e.consume(t, nil, func(msg change.Message) {
		rec := change.NewRecord(msg)
		rec.State = change.StateSucceeded
		if _, err := e.records.Create(testCtx(t), rec); err != nil {
			t.Fatal(err)
		}
	})
}
