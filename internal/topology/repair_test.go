package topology_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/natsembed"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// TestStepDownOnASingleServerIsRefused: a single server has no other
// leader; the refusal is ErrStepDown, which HeadRepair answers by
// recreating the consumer.
func TestStepDownOnASingleServerIsRefused(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := topology.StepDownWorkersConsumer(ctx, js); !errors.Is(err, topology.ErrStepDown) {
		t.Fatalf("StepDownWorkersConsumer on one server = %v, want ErrStepDown", err)
	}
}

// TestHeadRepairMovesTheLeaderThenRecreates runs on a 3-node cluster: the
// first report of a stuck change moves the consumer's leadership and keeps
// the delivery counts (a delivered, unacknowledged change comes back as a
// redelivery); a report within the interval does nothing; the same change
// reported again after it recreates the consumer (delivered again from 1).
func TestHeadRepairMovesTheLeaderThenRecreates(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	cl, err := natsembed.StartCluster(3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Shutdown)
	if err := cl.WaitJetStream(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	nc, js, err := topology.Connect(cl.URLs(), "repair-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topo := topology.DefaultTopology()
	topo.Replicas, topo.AckWait = 3, 2*time.Second
	if err := topology.EnsureWithRetry(ctx, js, topo, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "patchbay.changes.peering.p-1", []byte("p-1")); err != nil {
		t.Fatal(err)
	}
	// consumer opens the workers' consumer, waiting out an election.
	consumer := func() jetstream.Consumer {
		var c jetstream.Consumer
		testkit.Eventually(t, 20*time.Second, "the consumer answers", func() (bool, string) {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			var err error
			c, err = js.Consumer(cctx, topology.ChangesStream, topology.WorkersConsumer)
			return err == nil, fmt.Sprint(err)
		})
		return c
	}
	leader := func() string {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := consumer().Info(ictx)
		if err != nil || info.Cluster == nil {
			return "" // no leader yet
		}
		return info.Cluster.Leader
	}
	// delivery pulls for up to a few leases and returns the delivery count
	// of the change (0: not delivered), leaving it unacknowledged.
	delivery := func() uint64 {
		batch, err := consumer().Fetch(1, jetstream.FetchMaxWait(3*topo.AckWait))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			return meta.NumDelivered
		}
		return 0
	}
	if n := delivery(); n != 1 {
		t.Fatalf("first delivery count %d, want 1", n)
	}

	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	logs := &testkit.SyncBuffer{}
	r, err := topology.NewHeadRepair(js, topo, time.Minute, slog.New(slog.NewTextHandler(logs, nil)), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })

	before := leader()
	r.Report(7)
	testkit.Eventually(t, 20*time.Second, "a new consumer leader", func() (bool, string) {
		l := leader()
		return l != "" && l != before, "leader " + l + "; logs: " + logs.String()
	})
	if n := delivery(); n != 2 {
		t.Fatalf("after the leader moved, delivery count %d, want 2 (counts carry on)", n)
	}

	// Within the interval: nothing happens, the lease runs as usual.
	clock.Advance(30 * time.Second)
	r.Report(7)
	if n := delivery(); n != 3 {
		t.Fatalf("a report within the interval changed the consumer: delivery count %d, want 3", n)
	}

	created := func() time.Time {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := consumer().Info(ictx)
		if err != nil {
			return time.Time{}
		}
		return info.Created
	}
	was := created()
	clock.Advance(time.Minute)
	r.Report(7)
	testkit.Eventually(t, 20*time.Second, "the consumer recreated", func() (bool, string) {
		c := created()
		return !c.IsZero() && !c.Equal(was), logs.String()
	})
	testkit.Eventually(t, 30*time.Second, "a leader for the new consumer", func() (bool, string) {
		return leader() != "", ""
	})
	if n := delivery(); n != 1 {
		t.Fatalf("after recreating, delivery count %d, want 1", n)
	}
}
