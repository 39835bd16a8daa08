package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

// seedPeerings adds n peerings p-0..p-(n-1) in env-1.
func seedPeerings(sim *ccloudsim.Server, n int) {
	for i := 0; i < n; i++ {
		sim.SeedPeering(ccloudsim.Peering{ID: "p-" + itoa(i), DisplayName: "seed", EnvironmentID: "env-1", NetworkID: "n-1",
			Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-1", "routes": []any{"10.0.0.0/16"}, "customer_region": "us-east-1"}, Phase: "READY"})
	}
}

// submitMany submits bodies concurrently with a few clients and returns the ids.
func (st *stack) submitMany(paths, bodies []string) []string {
	st.t.Helper()
	ids := make([]string, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest(http.MethodPatch, st.apiURL+paths[i], bytes.NewReader([]byte(bodies[i])))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					st.t.Error(err)
					continue
				}
				var rec change.Record
				_ = json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					st.t.Errorf("submit %s: %d", paths[i], resp.StatusCode)
				}
				ids[i] = rec.ID
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids
}

func TestFleetStaysUnderTheUpstreamRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s at 20 requests/second")
	}
	st := newStack(t, ccloudsim.Options{RateLimit: 20, RatePeriod: time.Second})
	seedPeerings(st.sim, 300)
	var paths, bodies []string
	for i := 0; i < 600; i++ {
		paths = append(paths, "/networking/v1/peerings/p-"+itoa(i%300))
		bodies = append(bodies, `{"spec":{"display_name":"v`+itoa(i)+`","environment":{"id":"env-1"}}}`)
	}
	// Three independent workers, each with its own NATS connection.
	cfg := st.workerConfig()
	// 32 changes at once per worker, as the former 32 lanes allowed: under
	// the race detector on two shared cores, 3 x 64 goroutines waking for
	// their gate slots bunch up enough for the simulator's fixed window to
	// answer 429s (see the README's Known limitations).
	cfg.Concurrency = 32
	for i := 0; i < 3; i++ {
		st.startWorker(cfg)
	}
	ids := st.submitMany(paths, bodies)
	for _, id := range ids {
		if rec := st.waitTerminal(id, 120*time.Second); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s: %+v", id, rec.State, rec.Error)
		}
	}
	stats := st.sim.Stats()
	share := float64(stats.RateLimited) / float64(stats.Total)
	t.Logf("upstream requests %d, 429s %d (%.2f%%), violations %d", stats.Total, stats.RateLimited, 100*share, stats.Violations)
	if stats.Violations != 0 {
		t.Fatalf("%d requests arrived during a Retry-After", stats.Violations)
	}
	if share > 0.02 {
		t.Fatalf("429 share %.2f%% above 2%%", 100*share)
	}
	// Every change reached the upstream once with success: nothing doubled.
	if ok := stats.ByStatus[http.StatusOK]; ok != 600 {
		seen := map[string]int{}
		for _, r := range st.sim.Requests() {
			if r.Status == http.StatusOK {
				seen[string(r.Body)]++
			}
		}
		for b, n := range seen {
			if n > 1 {
				t.Logf("applied %d times: %s", n, b)
			}
		}
		t.Fatalf("%d successful upstream PATCHes for 600 changes", ok)
	}
}

func TestPerResourceOrderWithUpstreamErrors(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	seedPeerings(st.sim, 10)
	st.sim.SetFaults(ccloudsim.Faults{Rate500: 0.2, Seed: 7})
	var paths, bodies []string
	for round := 0; round < 20; round++ {
		for r := 0; r < 10; r++ {
			paths = append(paths, "/networking/v1/peerings/p-"+itoa(r))
			bodies = append(bodies, `{"spec":{"display_name":"r`+itoa(r)+`-`+itoa(round)+`","environment":{"id":"env-1"}}}`)
		}
	}
	// Accept in a known order (one at a time), then let two workers race.
	ids := make([]string, len(paths))
	for i := range paths {
		ids[i] = st.submit(paths[i], bodies[i], nil).ID
	}
	cfg := st.workerConfig()
	cfg.Retry.MaxErrorAttempts = 50
	st.startWorker(cfg)
	st.startWorker(cfg)
	for _, id := range ids {
		if rec := st.waitTerminal(id, 60*time.Second); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s", id, rec.State)
		}
	}
	type call struct {
		name       string
		start, end time.Time
	}
	byResource := map[string][]call{}
	all := map[string][]call{}
	for _, r := range st.sim.Requests() {
		var body struct {
			Spec struct {
				DisplayName string `json:"display_name"`
			} `json:"spec"`
		}
		_ = json.Unmarshal(r.Body, &body)
		c := call{body.Spec.DisplayName, r.Start, r.End}
		all[r.Path] = append(all[r.Path], c)
		if r.Status == http.StatusOK {
			byResource[r.Path] = append(byResource[r.Path], c)
		}
	}
	for r := 0; r < 10; r++ {
		path := "/networking/v1/peerings/p-" + itoa(r)
		got := byResource[path]
		if len(got) != 20 {
			t.Fatalf("%s: %d successful PATCHes, want 20", path, len(got))
		}
		for round, c := range got {
			if want := "r" + itoa(r) + "-" + itoa(round); c.name != want {
				t.Fatalf("%s: success %d applied %q, want %q (out of order)", path, round, c.name, want)
			}
		}
		calls := all[path]
		sort.Slice(calls, func(i, j int) bool { return calls[i].start.Before(calls[j].start) })
		for i := 1; i < len(calls); i++ {
			if calls[i].start.Before(calls[i-1].end) {
				t.Fatalf("%s: %q started before %q ended", path, calls[i].name, calls[i-1].name)
			}
		}
		if p, _ := st.sim.Peering("p-" + itoa(r)); p.DisplayName != "r"+itoa(r)+"-19" {
			t.Fatalf("%s final state %q", path, p.DisplayName)
		}
	}
	if st.sim.Stats().ByStatus[500] == 0 {
		t.Fatal("fault injection produced no 500s; the test proves nothing")
	}
}

func TestWorkerKilledDuringSlowCall(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 1500 * time.Millisecond, Seed: 3})
	doomed := st.startWorker(st.workerConfig())
	rec := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"survivor","environment":{"id":"env-1"}}}`, nil)
	testkit.Eventually(t, 10*time.Second, "the slow call reaching the upstream", func() (bool, string) {
		return len(st.sim.Requests()) > 0, "no request yet"
	})
	doomed.kill()
	st.sim.SetFaults(ccloudsim.Faults{})
	st.startWorker(st.workerConfig())
	done := st.waitTerminal(rec.ID, 30*time.Second)
	if done.State != change.StateSucceeded {
		t.Fatalf("ended %s", done.State)
	}
	evs := st.waitEvents([]string{rec.ID}, 1, 20*time.Second)
	if n := len(evs[rec.ID]); n != 1 {
		t.Fatalf("%d terminal events", n)
	}
	if p, _ := st.sim.Peering("p-1"); p.DisplayName != "survivor" {
		t.Fatalf("not applied: %q", p.DisplayName)
	}
	// The killed worker recorded its attempt before calling; the change was
	// then picked up again by the other worker.
	if len(done.Attempts) < 2 {
		t.Fatalf("want the interrupted attempt and the new worker's, got %+v", done.Attempts)
	}
}
