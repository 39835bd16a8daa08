package records

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

func TestLeaderGet(t *testing.T) {
	t.Parallel()
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := NewRecords(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	rec := change.NewRecord(change.Message{ID: change.NewID(), Operation: "networking.v1.peerings.update", AcceptedAt: time.Now().UTC()})
	rev, err := r.Create(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	deleted := change.NewRecord(change.Message{ID: change.NewID()})
	if _, err := r.Create(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if err := r.kv.Delete(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      string
		found   bool
		wantRev uint64
	}{
		{name: "stored", id: rec.ID, found: true, wantRev: rev},
		{name: "never stored", id: change.NewID()},
		{name: "deleted", id: deleted.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, gotRev, found, err := r.leaderGet(ctx, tt.id)
			if err != nil || found != tt.found || gotRev != tt.wantRev {
				t.Fatalf("leaderGet = rev %d found %v, %v; want rev %d found %v", gotRev, found, err, tt.wantRev, tt.found)
			}
			if !found {
				return
			}
			got, err := decodeRecord(data)
			if err != nil || got.ID != tt.id {
				t.Fatalf("leader's record %+v, %v", got, err)
			}
		})
	}
}

// TestLeaderGetGivesUpOnALostAnswer: a request whose answer never comes (lost
// while the connection moved to another server) ends after the API timeout
// even when the caller's context has no deadline. Before the bound, a
// worker's delivery waited here for ever, renewing its lease.
func TestLeaderGetGivesUpOnALostAnswer(t *testing.T) {
	t.Parallel()
	// A server without JetStream, and a responder that swallows the
	// request: no "no responders", no answer.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	sub, err := nc.Subscribe("$JS.API.STREAM.MSG.GET.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	r := &Records{nc: nc, apiTimeout: 200 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := r.leaderGet(context.Background(), change.NewID())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("leaderGet = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("leaderGet still waiting for an answer that never comes")
	}
}
