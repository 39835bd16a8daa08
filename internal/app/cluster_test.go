package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/topology"
)

// clusterStack is Patchbay on a real 3-node JetStream cluster with R3
// assets, two api instances and three workers: the common test stack with
// those options, and the cluster tests' load and checks.
type clusterStack struct {
	*stack
}

func newClusterStack(t *testing.T, resources int) *clusterStack {
	t.Helper()
	st := newStackWith(t, stackOptions{nodes: 3, apis: 2})
	seedPeerings(st.sim, resources)
	for range 3 {
		cfg := st.workerConfig()
		cfg.Retry = retry.Settings{MaxErrorAttempts: 50, MaxAge: 10 * time.Minute, MaxRateLimitWait: 10 * time.Second, BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second}
		st.startWorker(cfg)
	}
	return &clusterStack{stack: st}
}

// submitUntilAccepted PATCHes with an Idempotency-Key, retrying 503s (as a
// real client would) until the change is accepted.
func (cs *clusterStack) submitUntilAccepted(apiURL, path, body, key string) (string, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPatch, apiURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var rec change.Record
			_ = json.NewDecoder(resp.Body).Decode(&rec)
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return rec.ID, nil
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				return "", &unexpectedStatus{resp.StatusCode}
			}
		}
		if time.Now().After(deadline) {
			return "", context.DeadlineExceeded
		}
		time.Sleep(20 * time.Millisecond) // client back-off between 503s
	}
}

type unexpectedStatus struct{ code int }

func (u *unexpectedStatus) Error() string { return "unexpected status " + itoa(u.code) }

// runClusterLoad submits total changes over resources (each resource's
// changes sequentially, so acceptance order is known) and calls disrupt when
// a third of them are accepted. It returns, per resource path, the display
// names in acceptance order, and all change ids.
func (cs *clusterStack) runClusterLoad(total, resources int, disrupt func()) (map[string][]string, []string) {
	t := cs.t
	perResource := total / resources
	order := make(map[string][]string, resources)
	var mu sync.Mutex
	var ids []string
	var accepted atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	groups := 20
	for g := 0; g < groups; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < perResource; round++ {
				for r := g; r < resources; r += groups {
					path := "/networking/v1/peerings/p-" + itoa(r)
					name := "r" + itoa(r) + "-" + itoa(round)
					body := `{"spec":{"display_name":"` + name + `","environment":{"id":"env-1"}}}`
					id, err := cs.submitUntilAccepted(cs.apiURLs[(r+round)%len(cs.apiURLs)], path, body, name)
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					mu.Lock()
					order[path] = append(order[path], name)
					ids = append(ids, id)
					mu.Unlock()
					if accepted.Add(1) == int64(total/3) {
						once.Do(func() { go disrupt() })
					}
				}
			}
		}()
	}
	wg.Wait()
	return order, ids
}

// check asserts every change is terminal with one terminal event, order per
// resource, and no change applied twice with a different outcome.
func (cs *clusterStack) check(order map[string][]string, ids []string) {
	t := cs.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kv, err := cs.js.KeyValue(ctx, topology.RecordsBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for {
			e, err := kv.Get(ctx, id)
			if err == nil {
				var rec change.Record
				if json.Unmarshal(e.Value(), &rec) == nil && rec.State.Terminal() {
					if rec.State != change.StateSucceeded {
						t.Fatalf("%s ended %s: %+v", id, rec.State, rec.Error)
					}
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("%s not terminal: %v\n%s", id, err, cs.diagnose(id))
			}
			time.Sleep(20 * time.Millisecond) // poll interval
		}
	}
	// One terminal event per change (poll: the event follows the record).
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for {
		counts := cs.terminalEventCounts(ctx)
		missing := 0
		for id := range want {
			if counts[id] > 1 {
				t.Fatalf("%s has %d terminal events", id, counts[id])
			}
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d changes without a terminal event", missing)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	// Per-resource order: the successful PATCHes, with immediate repeats of
	// the same change (an at-least-once re-apply) folded, are the acceptance order.
	applied := map[string][]string{}
	outcome := map[string]int{}
	for _, r := range cs.sim.Requests() {
		var body struct {
			Spec struct {
				DisplayName string `json:"display_name"`
			} `json:"spec"`
		}
		_ = json.Unmarshal(r.Body, &body)
		name := body.Spec.DisplayName
		if prev, ok := outcome[name]; ok && prev == http.StatusOK && r.Status != http.StatusOK && r.Status != 0 {
			t.Fatalf("%s applied twice with different outcomes (%d, then %d)", name, prev, r.Status)
		}
		if r.Status == http.StatusOK {
			outcome[name] = r.Status
			seq := applied[r.Path]
			if len(seq) == 0 || seq[len(seq)-1] != name {
				applied[r.Path] = append(seq, name)
			}
		}
	}
	for path, want := range order {
		got := applied[path]
		if len(got) != len(want) {
			t.Fatalf("%s: applied %v, accepted %v", path, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: applied %v, accepted %v (out of order at %d)", path, got, want, i)
			}
		}
	}
}

func (cs *clusterStack) terminalEventCounts(ctx context.Context) map[string]int {
	counts := map[string]int{}
	for _, state := range []change.State{change.StateSucceeded, change.StateFailed} {
		cons, err := cs.js.OrderedConsumer(ctx, topology.EventsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.Subject(state)}})
		if err != nil {
			cs.t.Fatal(err)
		}
		for {
			batch, err := cons.FetchNoWait(500)
			if err != nil {
				cs.t.Fatal(err)
			}
			n := 0
			for m := range batch.Messages() {
				n++
				var ev events.Event
				if json.Unmarshal(m.Data(), &ev) == nil {
					counts[ev.Data.ID]++
				}
			}
			if n == 0 {
				break
			}
		}
	}
	return counts
}

func TestClusterSurvivesANodeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	const resources = 100
	cs := newClusterStack(t, resources)
	order, ids := cs.runClusterLoad(2000, resources, func() {
		cs.cluster.Stop(1)
		time.Sleep(2 * time.Second) // the node stays down for a while
		if err := cs.cluster.Restart(1); err != nil {
			t.Error(err)
		}
	})
	cs.check(order, ids)
}

func TestClusterSurvivesAStreamLeaderStepDown(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	const resources = 100
	cs := newClusterStack(t, resources)
	order, ids := cs.runClusterLoad(2000, resources, func() {
		for _, stream := range []string{topology.ChangesStream, "KV_" + topology.RecordsBucket} {
			if _, err := cs.nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 5*time.Second); err != nil {
				t.Errorf("step down %s: %v", stream, err)
			}
		}
	})
	cs.check(order, ids)
}

// diagnose describes where change id is stuck: its record, the first queued
// change of its resource, the workers' consumer and the log lines naming it.
func (cs *clusterStack) diagnose(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	var rec change.Record
	if kv, err := cs.js.KeyValue(ctx, topology.RecordsBucket); err == nil {
		if e, err := kv.Get(ctx, id); err == nil {
			_ = json.Unmarshal(e.Value(), &rec)
			fmt.Fprintf(&b, "record (rev %d): %s\n", e.Revision(), e.Value())
		} else {
			fmt.Fprintf(&b, "record: %v\n", err)
		}
	}
	if heads, err := topology.NewHeads(ctx, cs.js); err == nil && rec.Resource.ID != "" {
		seq, data, err := heads.Head(ctx, rec.Resource)
		fmt.Fprintf(&b, "head of %s: seq %d %.200s %v\n", rec.Resource.ID, seq, data, err)
	}
	if c, err := cs.js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer); err == nil {
		if info, err := c.Info(ctx); err == nil {
			fmt.Fprintf(&b, "consumer: pending %d, ack pending %d, redelivered %d, waiting %d, delivered %d, ack floor %d\n",
				info.NumPending, info.NumAckPending, info.NumRedelivered, info.NumWaiting, info.Delivered.Stream, info.AckFloor.Stream)
		}
	}
	if s, err := cs.js.Stream(ctx, topology.ChangesStream); err == nil {
		if info, err := s.Info(ctx); err == nil {
			fmt.Fprintf(&b, "stream: %d messages, first %d, last %d\n", info.State.Msgs, info.State.FirstSeq, info.State.LastSeq)
		}
	}
	// Does JetStream still redeliver it? Pull for two leases and look.
	if c, err := cs.js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer); err == nil {
		if batch, err := c.Fetch(200, jetstream.FetchMaxWait(2*cs.natsCfg.AckWait)); err == nil {
			var got []string
			for m := range batch.Messages() {
				if meta, err := m.Metadata(); err == nil {
					got = append(got, fmt.Sprintf("%d(x%d)", meta.Sequence.Stream, meta.NumDelivered))
				}
			}
			fmt.Fprintf(&b, "pulled by the test for %s: %v\n", 2*cs.natsCfg.AckWait, got)
		}
	}
	var lines []string
	for _, l := range strings.Split(cs.logs.String(), "\n") {
		if strings.Contains(l, id) || strings.Contains(l, "orphan") || strings.Contains(l, "recreat") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString(jobStacks())
	return b.String()
}

// jobStacks returns the stacks of the goroutines handling deliveries in
// this process (the workers run in-process): a job holding its delivery
// for minutes (its lease renewed, so JetStream never redelivers) shows here.
func jobStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "worker.(*Worker).handle") && strings.Contains(g, "minutes]") {
			out = append(out, g)
		}
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return fmt.Sprintf("\njobs running for minutes: %d\n%s", len(out), strings.Join(out, "\n\n"))
}
