package topology_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

func TestEnsureIsIdempotentAndPartitions(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	topo := testkit.EnsureTopology(t, js, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A second Ensure (another process starting) must succeed unchanged.
	if err := topology.Ensure(ctx, js, topo); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	if err := topology.CheckPresent(ctx, js); err != nil {
		t.Fatal(err)
	}
	// The same resource always lands in the same lane.
	lanes := map[string]string{}
	for i := 0; i < 3; i++ {
		for _, id := range []string{"p-1", "p-2", "p-3", "p-4"} {
			if _, err := js.Publish(ctx, "patchbay.changes.peering."+id, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 12; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(m.Subject, ".")
		if len(parts) != 5 || parts[0] != "patchbay" || parts[1] != "queue" {
			t.Fatalf("stored subject %q not partitioned", m.Subject)
		}
		key := parts[3] + "." + parts[4]
		if prev, ok := lanes[key]; ok && prev != parts[2] {
			t.Fatalf("resource %s in lanes %s and %s", key, prev, parts[2])
		}
		lanes[key] = parts[2]
	}
}

// TestNakWithDelayHoldsTheLane pins the JetStream behaviour that per-resource
// order relies on: with MaxAckPending=1, a change handed back with a delay
// keeps its lane, so a later change of the same lane is not delivered first.
func TestNakWithDelayHoldsTheLane(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range []string{"first", "second"} {
		if _, err := js.Publish(ctx, "patchbay.changes.peering."+id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.Consumer(ctx, topology.ChangesStream, topology.ConsumerName(0))
	if err != nil {
		t.Fatal(err)
	}
	next := func(wait time.Duration) jetstream.Msg {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(wait))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			return m
		}
		return nil
	}
	m := next(2 * time.Second)
	if m == nil || string(m.Data()) != "first" {
		t.Fatalf("want first, got %v", m)
	}
	if err := m.NakWithDelay(700 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// While "first" waits, nothing else of the lane may be delivered.
	if m := next(300 * time.Millisecond); m != nil {
		t.Fatalf("lane not held: got %q during the delay", m.Data())
	}
	m = next(3 * time.Second)
	if m == nil || string(m.Data()) != "first" {
		t.Fatalf("want first again, got %v", m)
	}
}

// TestStoredChangeFilter: the filter finds a resource's stored changes in
// whatever lane the transform put them, and no other resource's.
func TestStoredChangeFilter(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.KeyValue(ctx, topology.ResourcesBucket); err != nil {
		t.Fatalf("resources bucket: %v", err)
	}
	p1 := change.Resource{Kind: "Peering", ID: "p-1"}
	for _, r := range []change.Resource{p1, {Kind: "Peering", ID: "p-10"}, {Kind: "Integration", ID: "p-1"}, p1} {
		if _, err := js.Publish(ctx, topology.ChangeSubject(r), []byte(r.Kind+"/"+r.ID)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	var found []uint64
	for seq := uint64(1); ; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(topology.StoredChangeFilter(p1)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != "Peering/p-1" {
			t.Fatalf("filter matched %s", m.Data)
		}
		found = append(found, m.Sequence)
		seq = m.Sequence + 1
	}
	if len(found) != 2 || found[0] != 1 || found[1] != 4 {
		t.Fatalf("found sequences %v, want [1 4]", found)
	}
	if got := topology.ResourceKey(p1); got != "peering.p-1" {
		t.Fatalf("ResourceKey = %q", got)
	}
}
