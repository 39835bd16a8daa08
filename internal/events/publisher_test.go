package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// startJetStream runs a real embedded NATS server with Patchbay's topology.
func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, _, js := testkit.StartNATS(t)
	topo := topology.DefaultTopology()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := topology.Ensure(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	return js
}

func TestNewPublisherNilDependency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  func() time.Time
	}{
		{name: "nil js and clock"},
		{name: "nil js", now: time.Now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if p, err := events.NewPublisher(nil, tt.now); err == nil || p != nil {
				t.Fatalf("NewPublisher = %v, %v; want an error", p, err)
			}
		})
	}
}

func TestPublisherDeduplicatesTerminalEvent(t *testing.T) {
	t.Parallel()
	js := startJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	if p, err := events.NewPublisher(js, nil); err == nil || p != nil {
		t.Fatalf("NewPublisher(js, nil) = %v, %v; want an error", p, err)
	}
	clock := accepted.Add(time.Minute)
	pub, err := events.NewPublisher(js, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	rec := record(change.StateSucceeded, 0, 1)
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for i := 0; i < 2; i++ {
		if err := pub.Publish(ctx, rec, tp); err != nil {
			t.Fatalf("publish %d: %v", i+1, err)
		}
	}

	stream, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("events stream holds %d messages after publishing one terminal record twice, want 1", info.State.Msgs)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, "patchbay.events.change.succeeded")
	if err != nil {
		t.Fatalf("no message on patchbay.events.change.succeeded: %v", err)
	}
	if got := msg.Header.Get("Content-Type"); got != "application/cloudevents+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := msg.Header.Get(jetstream.MsgIDHeader); got != events.ID(rec) {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, events.ID(rec))
	}
	if got := msg.Header.Get("traceparent"); got != tp {
		t.Errorf("traceparent header = %q", got)
	}
	var ev events.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != events.ID(rec) || ev.Type != "dev.patchbay.change.succeeded" || ev.SpecVersion != "1.0" || !ev.Time.Equal(clock) {
		t.Errorf("stored event = %+v", ev)
	}
	if ev.Data.ID != rec.ID || ev.Data.State != change.StateSucceeded {
		t.Errorf("stored data = %+v", ev.Data)
	}

	// A new generation is a new terminal event, and a retrying event is
	// stored on its own subject.
	next := record(change.StateSucceeded, 1, 2)
	if err := pub.Publish(ctx, next, ""); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, record(change.StateRetrying, 0, 1), ""); err != nil {
		t.Fatal(err)
	}
	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("events stream holds %d messages, want 3", info.State.Msgs)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, "patchbay.events.change.retrying"); err != nil {
		t.Fatalf("no retrying event: %v", err)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, "patchbay.events.change.failed"); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("failed subject lookup err = %v, want ErrMsgNotFound", err)
	}
}
