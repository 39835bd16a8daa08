package topology_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

func TestEnsureIsIdempotentAndKeepsOneSubjectPerResource(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	topo := testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A second Ensure (another process starting) must succeed unchanged.
	if err := topology.Ensure(ctx, js, topo); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	if err := topology.CheckPresent(ctx, js); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "patchbay.changes.peering.p-1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "patchbay.queue.0.peering.p-1" {
		t.Fatalf("stored subject %q", m.Subject)
	}
	c, err := st.Consumer(ctx, topology.WorkersConsumer)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	if cfg.FilterSubject != topology.QueueFilter || cfg.MaxAckPending != topo.MaxAckPending || cfg.AckWait != topo.AckWait ||
		cfg.MaxDeliver != -1 || len(cfg.BackOff) != 0 {
		t.Fatalf("workers consumer config %+v", cfg)
	}
}

// TestHeadFindsTheFirstChangeOfAResourceAcrossLanes pins the JetStream
// behaviour the worker's order relies on: a "next by subject" get from
// sequence 1 with a wildcard in the lane position returns the oldest stored
// message of the resource, whichever lane it is in, and skips acked
// (deleted) messages.
func TestHeadFindsTheFirstChangeOfAResourceAcrossLanes(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A plain stream stands in for the queue so the test can store messages
	// in any lane directly.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topology.ChangesStream, Subjects: []string{"patchbay.queue.>"}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"patchbay.queue.0.peering.p-2", "patchbay.queue.7.peering.p-1", "patchbay.queue.0.peering.p-1", "patchbay.queue.3.peering.p-10"} {
		if _, err := js.Publish(ctx, s, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	heads, err := topology.NewHeads(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	p1 := change.Resource{Kind: "Peering", ID: "p-1"}
	seq, data, err := heads.Head(ctx, p1)
	if err != nil || seq != 2 || string(data) != "patchbay.queue.7.peering.p-1" {
		t.Fatalf("head of p-1: %d %q %v", seq, data, err)
	}
	st, _ := js.Stream(ctx, topology.ChangesStream)
	if err := st.DeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if seq, _, err := heads.Head(ctx, p1); err != nil || seq != 3 {
		t.Fatalf("head of p-1 after the first is gone: %d %v", seq, err)
	}
	if _, _, err := heads.Head(ctx, change.Resource{Kind: "Integration", ID: "p-1"}); !errors.Is(err, topology.ErrNoHead) {
		t.Fatalf("other kind: %v", err)
	}
}

// legacyEnsure is the stream and lane consumers as the version with fixed
// lanes created them (copied from that version's Ensure).
func legacyEnsure(t *testing.T, js jetstream.JetStream, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: topology.ChangesStream, Subjects: []string{"patchbay.changes.*.*"},
		SubjectTransform: &jetstream.SubjectTransformConfig{
			Source:      "patchbay.changes.*.*",
			Destination: "patchbay.queue.{{partition(" + itoa(partitions) + ",1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}",
		},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: 1,
		Duplicates: 2 * time.Minute, Discard: jetstream.DiscardNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < partitions; p++ {
		_, err := js.CreateOrUpdateConsumer(ctx, topology.ChangesStream, jetstream.ConsumerConfig{
			Durable: "part-" + itoa(p), FilterSubject: "patchbay.queue." + itoa(p) + ".>",
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 1, MaxDeliver: -1, MaxWaiting: 512,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestEnsureMigratesTheFormerLanes builds the stream the old way, queues
// changes in several lanes (one delivered and not acked), runs Ensure, and
// checks that every message stayed in place, the lane consumers are gone,
// the workers' consumer delivers all of them, and the head of each resource
// is its oldest change across old and new lanes.
func TestEnsureMigratesTheFormerLanes(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	legacyEnsure(t, js, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ids := []string{"p-1", "p-2", "p-3", "p-4", "p-5", "p-6"}
	for round := 0; round < 2; round++ {
		for _, id := range ids {
			if _, err := js.Publish(ctx, "patchbay.changes.peering."+id, []byte(id+"-old-"+itoa(round))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An old worker holds one change in flight when the upgrade happens.
	old, err := js.Consumer(ctx, topology.ChangesStream, "part-0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Fetch(1, jetstream.FetchMaxWait(time.Second)); err != nil {
		t.Fatal(err)
	}
	st, _ := js.Stream(ctx, topology.ChangesStream)
	lanes := map[string]bool{}
	for seq := uint64(1); seq <= 12; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		lanes[strings.Split(m.Subject, ".")[2]] = true
	}
	if len(lanes) < 2 {
		t.Fatalf("old layout used lanes %v; the test needs several", lanes)
	}

	testkit.EnsureTopology(t, js)
	for _, id := range ids {
		if _, err := js.Publish(ctx, "patchbay.changes.peering."+id, []byte(id+"-new")); err != nil {
			t.Fatal(err)
		}
	}
	names := st.ConsumerNames(ctx)
	var got []string
	for n := range names.Name() {
		got = append(got, n)
	}
	if len(got) != 1 || got[0] != topology.WorkersConsumer {
		t.Fatalf("consumers after migration: %v", got)
	}
	heads, err := topology.NewHeads(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	// Consume through the new consumer only at the head of each resource,
	// as the worker does; every resource must come out old-0, old-1, new.
	c, err := js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer)
	if err != nil {
		t.Fatal(err)
	}
	order := map[string][]string{}
	deadline := time.Now().Add(15 * time.Second)
	for n := 0; n < 18 && time.Now().Before(deadline); {
		batch, err := c.Fetch(18, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			parts := strings.Split(m.Subject(), ".")
			r := change.Resource{Kind: "Peering", ID: parts[4]}
			meta, _ := m.Metadata()
			seq, _, err := heads.Head(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if seq != meta.Sequence.Stream {
				_ = m.NakWithDelay(50 * time.Millisecond)
				continue
			}
			order[parts[4]] = append(order[parts[4]], string(m.Data()))
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	for _, id := range ids {
		want := []string{id + "-old-0", id + "-old-1", id + "-new"}
		if strings.Join(order[id], ",") != strings.Join(want, ",") {
			t.Fatalf("%s consumed as %v, want %v", id, order[id], want)
		}
	}
}

// TestHeadSubjectFindsStoredChanges: the filter finds a resource's stored changes in
// whatever lane the transform put them, and no other resource's.
func TestHeadSubjectFindsStoredChanges(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
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
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(topology.HeadSubject(p1)))
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
