package notifyqueue

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/testkit/natstest"
)

// newTestStore runs a NATS server with this package's stream and bucket.
// (testkit.EnsureTopology would import topology, which imports this
// package.)
func newTestStore(t *testing.T) *Store {
	t.Helper()
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: Stream, Subjects: []string{StreamSubjects}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket}); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, js, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRedeliverRecordsTheRoundBeforeQueueing: when a given-up delivery is
// queued again, its new round (retrying, attempts 0, one more
// redelivery) is already recorded: the notifier may take the item at once
// and counts its attempt from that status. (Queueing first let a fast
// notifier deliver before the round was written; the write then conflicted
// and the request answered "nothing to redeliver".) A request whose
// queueing failed can be repeated and queues the same round again; once
// queued, a repeated request has nothing to do.
func TestRedeliverRecordsTheRoundBeforeQueueing(t *testing.T) {
	s := newTestStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const id = "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	it := Item{Destination: "jira", ChangeID: id, EventID: id + ".g0.terminal", EnqueuedAt: time.Now().Add(-time.Hour)}
	if _, err := s.Redeliver(ctx, id); !errors.Is(err, ErrNothingToRedeliver) {
		t.Fatalf("nothing given up: %v", err)
	}
	for range 2 {
		if _, err := s.Record(ctx, id, Delivery{Destination: "jira", EventID: it.EventID, State: Retrying}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Record(ctx, id, Delivery{Destination: "jira", EventID: it.EventID, State: GivenUp}, &it); err != nil {
		t.Fatal(err)
	}

	var atQueue []Delivery
	var ids []string
	s.enqueue = func(ctx context.Context, it Item, msgID string) error {
		ds, err := s.Deliveries(ctx, it.ChangeID)
		atQueue, ids = ds, append(ids, msgID)
		if err != nil {
			return err
		}
		return errors.New("publish failed")
	}
	if _, err := s.Redeliver(ctx, id); err == nil {
		t.Fatal("a failed queueing reported success")
	}
	if len(atQueue) != 1 || atQueue[0].State != Retrying || atQueue[0].Attempts != 0 || atQueue[0].Redeliveries != 1 {
		t.Fatalf("status when the item was queued: %+v; want the new round recorded first", atQueue)
	}

	s.enqueue = func(ctx context.Context, it Item, msgID string) error {
		ids = append(ids, msgID)
		if time.Since(it.EnqueuedAt) > time.Minute {
			t.Errorf("queued with the old age %s", it.EnqueuedAt)
		}
		return s.Enqueue(ctx, it, msgID)
	}
	ds, err := s.Redeliver(ctx, id)
	if err != nil || len(ds) != 1 || ds[0].Redeliveries != 1 {
		t.Fatalf("repeated request: %+v, %v", ds, err)
	}
	if len(ids) != 2 || ids[0] != ids[1] {
		t.Fatalf("queued under %v; want the same round id twice", ids)
	}
	if _, err := s.Redeliver(ctx, id); !errors.Is(err, ErrNothingToRedeliver) || len(ids) != 2 {
		t.Fatalf("a request while the round is queued: %v, queued %v", err, ids)
	}

	// The notifier's first attempt of the round counts from 0 and unparks.
	if n, err := s.Record(ctx, id, Delivery{Destination: "jira", EventID: it.EventID, State: Delivered}, nil); err != nil || n != 1 {
		t.Fatalf("first attempt of the round counted %d, %v", n, err)
	}
	if _, err := s.Redeliver(ctx, id); !errors.Is(err, ErrNothingToRedeliver) {
		t.Fatalf("delivered: %v", err)
	}
}
