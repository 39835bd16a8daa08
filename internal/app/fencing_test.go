package app_test

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/netstall"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// orderedLoad submits rounds x resources changes one at a time (so the
// acceptance order is known) and returns the ids and, per resource path,
// the display names in acceptance order.
func (st *stack) orderedLoad(resources, rounds int) ([]string, map[string][]string) {
	st.t.Helper()
	return st.orderedLoadFrom(0, rounds, resources)
}

// orderedLoadFrom is orderedLoad for rounds first..first+rounds-1.
func (st *stack) orderedLoadFrom(first, rounds, resources int) ([]string, map[string][]string) {
	st.t.Helper()
	var ids []string
	want := map[string][]string{}
	for round := first; round < first+rounds; round++ {
		for r := 0; r < resources; r++ {
			path := "/networking/v1/peerings/p-" + itoa(r)
			name := "r" + itoa(r) + "-" + itoa(round)
			ids = append(ids, st.submit(path, `{"spec":{"display_name":"`+name+`","environment":{"id":"env-1"}}}`, nil).ID)
			want[path] = append(want[path], name)
		}
	}
	return ids, want
}

// checkAll asserts the promises after a disruption: every change
// succeeded, no overlapping PATCHes per resource, per-resource order, no
// record left a terminal state, exactly one terminal event per change and
// nothing after it.
func (st *stack) checkAll(t *testing.T, ids []string, want map[string][]string, hist *recordHistory, within time.Duration) {
	t.Helper()
	for _, id := range ids {
		if rec := st.waitTerminal(id, within); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s: %+v", id, rec.State, rec.Error)
		}
	}
	st.waitEvents(ids, 1, 30*time.Second)
	// Let stale workers wake up and (wrongly) act, if they would.
	time.Sleep(2 * st.natsCfg.AckWait)
	st.checkNoOverlap(t)
	st.checkOrder(t, want)
	hist.check(t)
	st.checkEvents(t, ids)
}

// pauser blocks the first n hook calls for d each, then lets everything
// through.
type pauser struct {
	n      atomic.Int32
	d      time.Duration
	paused atomic.Int32
}

func (p *pauser) hook(string) {
	if p.n.Add(-1) >= 0 {
		p.paused.Add(1)
		time.Sleep(p.d)
	}
}

// TestWorkerPausedPastItsLease freezes one worker (in-process pause hooks,
// longer than AckWait) after its upstream call returned and before it
// writes the record, and before a call starts, while another worker takes
// over.
func TestWorkerPausedPastItsLease(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 8)
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 100 * time.Millisecond, Seed: 1})
	hist := st.watchRecords()
	after := &pauser{d: 2*st.natsCfg.AckWait + time.Second}
	after.n.Store(3)
	before := &pauser{d: 2*st.natsCfg.AckWait + time.Second}
	before.n.Store(2)
	frozen := st.workerConfig()
	frozen.Hooks.AfterCall = after.hook
	frozen.Hooks.BeforeCall = before.hook
	st.startWorker(frozen)
	ids, want := st.orderedLoad(8, 4)
	st.startWorker(st.workerConfig())
	st.checkAll(t, ids, want, hist, 90*time.Second)
	if after.paused.Load() == 0 || before.paused.Load() == 0 {
		t.Fatalf("pauses after/before the call: %d/%d; the test proves nothing", after.paused.Load(), before.paused.Load())
	}
	st.checkTakenOver(t, ids)
}

// checkTakenOver fails the test unless some change needed a second attempt
// (another worker took it over): otherwise the disruption proved nothing.
func (st *stack) checkTakenOver(t *testing.T, ids []string) {
	t.Helper()
	taken := 0
	for _, id := range ids {
		if rec := st.waitTerminal(id, time.Second); len(rec.Attempts) > 1 {
			taken++
		}
	}
	if taken == 0 {
		t.Fatal("no change was taken over by the other worker")
	}
	t.Logf("%d changes taken over", taken)
}

// TestStalledNATSLink stalls one worker's NATS connection (a TCP proxy
// holding both directions) past the lease while its calls are in flight.
func TestStalledNATSLink(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 8)
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond, Seed: 1})
	hist := st.watchRecords()
	proxy, err := netstall.New(st.ns.ClientURL()[len("nats://"):])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	cfg := st.workerConfig()
	cfg.NATS.URL = "nats://" + proxy.Addr()
	st.startWorker(cfg)
	ids, want := st.orderedLoad(8, 4)
	// Mid-run: once the upstream has calls in flight, stall the link.
	testkit.Eventually(t, 10*time.Second, "upstream calls in flight", func() (bool, string) {
		return st.sim.InFlight() > 0, "none in flight"
	})
	proxy.Pause()
	st.startWorker(st.workerConfig())
	time.Sleep(2*st.natsCfg.AckWait + time.Second)
	proxy.Resume()
	st.checkAll(t, ids, want, hist, 90*time.Second)
	st.checkTakenOver(t, ids)
}

// TestFailingResourcesDoNotHoldUpHealthyOnes: four resources answer 503 to
// every call; changes to other resources finish promptly while those wait
// out their backoff, and the failing ones keep their own order.
func TestFailingResourcesDoNotHoldUpHealthyOnes(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 40)
	for r := 0; r < 4; r++ {
		st.sim.SetFixedResponse("/networking/v1/peerings/p-"+itoa(r), 503)
	}
	cfg := st.workerConfig()
	cfg.Retry.MaxErrorAttempts = 4
	cfg.Retry.BackoffBase, cfg.Retry.BackoffMax = 500*time.Millisecond, 2*time.Second
	st.startWorker(cfg)
	st.startWorker(cfg)
	var failing, healthy []string
	for round := 0; round < 3; round++ {
		for r := 0; r < 40; r++ {
			id := st.submit("/networking/v1/peerings/p-"+itoa(r), `{"spec":{"display_name":"x`+itoa(round)+`","environment":{"id":"env-1"}}}`, nil).ID
			if r < 4 {
				failing = append(failing, id)
			} else {
				healthy = append(healthy, id)
			}
		}
	}
	var lat []time.Duration
	for _, id := range healthy {
		rec := st.waitTerminal(id, 30*time.Second)
		if rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s", id, rec.State)
		}
		lat = append(lat, rec.CompletedAt.Sub(rec.AcceptedAt))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[len(lat)*99/100]
	t.Logf("healthy accept->terminal p50 %s p99 %s max %s", lat[len(lat)/2], p99, lat[len(lat)-1])
	if p99 > 2*time.Second {
		t.Fatalf("healthy p99 %s while 4 resources fail: head-of-line blocking", p99)
	}
	var mu sync.Mutex
	completed := map[string]time.Time{}
	for _, id := range failing {
		rec := st.waitTerminal(id, 90*time.Second)
		if rec.State != change.StateFailed || len(rec.Attempts) != 4 {
			t.Fatalf("%s ended %s after %d attempts", id, rec.State, len(rec.Attempts))
		}
		mu.Lock()
		completed[id] = *rec.CompletedAt
		mu.Unlock()
	}
	// Per failing resource, change k+1 started only after change k failed.
	for r := 0; r < 4; r++ {
		for round := 1; round < 3; round++ {
			prev, cur := failing[(round-1)*4+r], failing[round*4+r]
			rec := st.waitTerminal(cur, time.Second)
			if rec.Attempts[0].StartedAt.Before(completed[prev]) {
				t.Fatalf("p-%d: change %d started before change %d ended", r, round, round-1)
			}
		}
	}
	st.checkNoOverlap(t)
}

// TestSlowUpstreamNearTheTimeout: calls take close to (and some beyond)
// CCLOUD_TIMEOUT; timed-out calls are retried, order and exclusivity hold.
func TestSlowUpstreamNearTheTimeout(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 6)
	cfg := st.workerConfig()
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 0.7, SlowDelay: cfg.CCloud.Timeout - 200*time.Millisecond, Rate503: 0.1, Seed: 5})
	cfg.Retry.MaxErrorAttempts = 30
	hist := st.watchRecords()
	st.startWorker(cfg)
	st.startWorker(cfg)
	ids, want := st.orderedLoad(6, 3)
	for _, id := range ids {
		if rec := st.waitTerminal(id, 120*time.Second); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s", id, rec.State)
		}
	}
	st.checkNoOverlap(t)
	st.checkOrder(t, want)
	hist.check(t)
	st.checkEvents(t, ids)
}

// TestConsumerRecreatedMidRun: the workers' consumer is recreated while
// calls are in flight and changes wait for retries, as the stuck-head
// repair and the orphan sweep do. Every stored change is delivered again,
// counting deliveries from 1, next to the old consumer's deliveries still
// running: the promises hold (one attempt at a time, order, one terminal
// event, no terminal record left).
func TestConsumerRecreatedMidRun(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 8)
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond, Rate503: 0.2, Seed: 3})
	hist := st.watchRecords()
	cfg := st.workerConfig()
	cfg.Retry.MaxErrorAttempts = 30
	st.startWorker(cfg)
	st.startWorker(cfg)
	ids, want := st.orderedLoad(8, 4)
	testkit.Eventually(t, 10*time.Second, "upstream calls in flight", func() (bool, string) {
		return st.sim.InFlight() > 0, "none in flight"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := topology.RecreateWorkersConsumer(ctx, st.js, st.natsCfg.Topology()); err != nil {
		t.Fatal(err)
	}
	st.checkAll(t, ids, want, hist, 90*time.Second)
}
