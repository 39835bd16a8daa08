package topology_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// TestRecreateWorkersConsumerDeliversStoredChangesAgain: the repair for an
// orphaned change delivers every stored change once more, also those
// delivered and not yet acknowledged; a healthy queue has no orphan.
func TestRecreateWorkersConsumerDeliversStoredChangesAgain(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	topo := testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range []string{"p-1", "p-2"} {
		if _, err := js.Publish(ctx, "patchbay.changes.peering."+id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func() int {
		c, err := js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer)
		if err != nil {
			t.Fatal(err)
		}
		batch, err := c.Fetch(10, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for range batch.Messages() {
			n++ // not acknowledged
		}
		return n
	}
	if n := fetch(); n != 2 {
		t.Fatalf("first fetch got %d, want 2", n)
	}
	if n := fetch(); n != 0 {
		t.Fatalf("second fetch got %d before the lease ran out, want 0", n)
	}
	if seq, err := topology.Orphan(ctx, js); err != nil || seq != 0 {
		t.Fatalf("healthy queue: Orphan = %d, %v", seq, err)
	}
	if err := topology.RecreateWorkersConsumer(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	if n := fetch(); n != 2 {
		t.Fatalf("after recreating, got %d, want both stored changes again", n)
	}
}
