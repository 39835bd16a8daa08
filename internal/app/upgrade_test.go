package app_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/topology"
)

// legacyLayout turns the change stream back into the layout of the version
// with fixed lanes (code copied from that version's Ensure): a partition
// transform over 8 lanes and one consumer per lane with MaxAckPending=1.
func (st *stack) legacyLayout(t *testing.T, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, _ := st.stream(ctx, topology.ChangesStream)
	if err := s.DeleteConsumer(ctx, topology.WorkersConsumer); err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.SubjectTransform = &jetstream.SubjectTransformConfig{
		Source:      "patchbay.changes.*.*",
		Destination: "patchbay.queue.{{partition(" + strconv.Itoa(partitions) + ",1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}",
	}
	if _, err := st.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for p := 0; p < partitions; p++ {
		_, err := st.js.CreateOrUpdateConsumer(ctx, topology.ChangesStream, jetstream.ConsumerConfig{
			Durable: "part-" + strconv.Itoa(p), FilterSubject: "patchbay.queue." + strconv.Itoa(p) + ".>",
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: st.natsCfg.AckWait, MaxAckPending: 1, MaxDeliver: -1, MaxWaiting: 512,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpgradeFromLanesKeepsEveryQueuedChangeInOrder queues changes under
// the former lanes, starts this version's worker (which migrates), queues
// more, and checks that every change ran, once per resource at a time, in
// acceptance order across old and new lanes.
func TestUpgradeFromLanesKeepsEveryQueuedChangeInOrder(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 10)
	st.legacyLayout(t, 8)
	hist := st.watchRecords()
	ids, want := st.orderedLoad(10, 3) // queued under the old lanes
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, info := st.stream(ctx, topology.ChangesStream)
	lanes := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		lanes[strings.Split(m.Subject, ".")[2]] = true
	}
	if len(lanes) < 3 {
		t.Fatalf("changes in lanes %v; the test needs several", lanes)
	}
	st.startWorker(st.workerConfig())
	st.startWorker(st.workerConfig())
	more, moreWant := st.orderedLoadFrom(3, 2, 10) // queued after the upgrade, lane 0
	ids = append(ids, more...)
	for p, names := range moreWant {
		want[p] = append(want[p], names...)
	}
	st.checkAll(t, ids, want, hist, 60*time.Second)
	names := s.ConsumerNames(ctx)
	var got []string
	for n := range names.Name() {
		got = append(got, n)
	}
	if len(got) != 1 || got[0] != topology.WorkersConsumer {
		t.Fatalf("consumers after the upgrade: %v", got)
	}
}
