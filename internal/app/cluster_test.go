package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/natsembed"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// clusterStack is Patchbay on a real 3-node JetStream cluster with R3
// assets, two api instances and three workers.
type clusterStack struct {
	t       *testing.T
	cluster *natsembed.Cluster
	sim     *ccloudsim.Server
	apiURLs []string
	js      jetstream.JetStream
	nc      *nats.Conn
}

func newClusterStack(t *testing.T, resources int) *clusterStack {
	t.Helper()
	cl, err := natsembed.StartCluster(3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Shutdown)
	if err := cl.WaitJetStream(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	sim, srv := testkit.CCloudSim(t, ccloudsim.Options{Credentials: map[string]string{simKey: simSecret}})
	seedPeerings(sim, resources)
	cs := &clusterStack{t: t, cluster: cl, sim: sim}
	natsCfg := topology.Settings{URL: cl.URLs(), Replicas: 3, AckWait: 4 * time.Second}
	logs := &syncBuffer{}
	logger := (&stack{logs: logs}).logger
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		api, err := app.NewAPI(ctx, app.APIConfig{NATS: natsCfg, APITokens: "jira=" + testToken, MaxBodyBytes: 64 << 10},
			logger("api"), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(api.Close)
		hs := httptest.NewServer(api.Handler)
		t.Cleanup(hs.Close)
		cs.apiURLs = append(cs.apiURLs, hs.URL)
	}
	for i := 0; i < 3; i++ {
		wctx, wcancel := context.WithCancel(context.Background())
		wcfg := app.DefaultWorkerConfig()
		wcfg.NATS = natsCfg
		wcfg.CCloud = ccloud.Settings{URL: srv.URL, APIKey: simKey, APISecret: simSecret, Timeout: 2 * time.Second}
		wcfg.Retry = retry.Settings{MaxErrorAttempts: 50, MaxAge: 10 * time.Minute, MaxRateLimitWait: 10 * time.Second, BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second}
		wcfg.ShutdownGrace = 5 * time.Second
		w, err := app.NewWorker(wctx, wcfg, logger("worker"), prometheus.NewRegistry())
		if err != nil {
			wcancel()
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = w.Run(wctx) }()
		t.Cleanup(func() { wcancel(); <-done; w.Close() })
	}
	nc, err := nats.Connect(cl.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cs.nc = nc
	cs.js, _ = jetstream.New(nc)
	return cs
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
				t.Fatalf("%s not terminal: %v", id, err)
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
