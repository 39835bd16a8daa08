package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/testkit/faultproxy"
)

// publishPattern starts the api's publish of a change.
const publishPattern = "PUB patchbay.changes."

// viaProxy puts a fault proxy between the api and NATS.
func viaProxy(t *testing.T, proxy **faultproxy.Proxy) func(*app.APIConfig) {
	return func(cfg *app.APIConfig) {
		p, err := faultproxy.New(strings.TrimPrefix(cfg.NATS.URL, "nats://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		t.Cleanup(p.Resume)
		cfg.NATS.URL = p.URL()
		*proxy = p
	}
}

// TestLateAcknowledgementsApplyOnce is the reproduction: ten
// concurrent requests whose acknowledgements are late each get a 503 (that
// says the change may have been queued, for those held at the publish); the
// client retries each with its Idempotency-Key and every change is applied
// once, with one record and one terminal event.
func TestLateAcknowledgementsApplyOnce(t *testing.T) {
	var proxy *faultproxy.Proxy
	st := newStack(t, ccloudsim.Options{}, viaProxy(t, &proxy))
	st.startWorker(st.workerConfig())
	const n = 10
	body := func(i int) string {
		return `{"spec":{"display_name":"late-` + itoa(i) + `","environment":{"id":"env-1"}}}`
	}
	key := func(i int) map[string]string { return map[string]string{"Idempotency-Key": "late-" + itoa(i)} }
	proxy.PauseOn(publishPattern)
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, data := st.do(http.MethodPatch, "/networking/v1/peerings/p-1", testToken, "application/json", []byte(body(i)), key(i))
			codes[i] = itoa(resp.StatusCode) + " " + string(data)
		}()
	}
	wg.Wait()
	proxy.Resume()
	// A request held before its publish (its key or latest write waited
	// for a held reply) truthfully says nothing was queued; the publishes
	// held say they may have been. Either way the client retries.
	maybe := 0
	for i, c := range codes {
		switch {
		case strings.HasPrefix(c, "503 ") && strings.Contains(c, "queue_outcome_unknown") && strings.Contains(c, "may have been queued"):
			maybe++
		case strings.HasPrefix(c, "503 ") && strings.Contains(c, "queue_unavailable") && strings.Contains(c, "nothing was queued"):
		default:
			t.Fatalf("request %d: %s", i, c)
		}
	}
	if maybe == 0 {
		t.Fatal("no request was held at its publish")
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = st.submit("/networking/v1/peerings/p-1", body(i), key(i)).ID
	}
	for _, id := range ids {
		if rec := st.waitTerminal(id, 30*time.Second); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s", id, rec.State)
		}
	}
	evs := st.waitEvents(ids, 1, 20*time.Second)
	for _, id := range ids {
		if len(evs[id]) != 1 {
			t.Fatalf("%s has %d terminal events", id, len(evs[id]))
		}
	}
	if len(evs) != n {
		t.Fatalf("%d changes have terminal events, want %d", len(evs), n)
	}
	applied := map[string]int{}
	for _, r := range st.sim.Requests() {
		applied[string(r.Body)]++
	}
	for i := range n {
		if got := applied[body(i)]; got != 1 {
			t.Fatalf("change %d applied %d times upstream", i, got)
		}
	}
}

// TestOperatorRetryLateAcknowledgement: a retry whose acknowledgement is
// late answers 503 (may have been re-queued); the stored generation is run
// by the worker, which moves the record itself; repeating the retry does
// not queue a second one.
func TestOperatorRetryLateAcknowledgement(t *testing.T) {
	var proxy *faultproxy.Proxy
	st := newStack(t, ccloudsim.Options{}, viaProxy(t, &proxy))
	st.sim.SetCredentials(map[string]string{simKey: "rotated"}, nil)
	st.startWorker(st.workerConfig())
	rec := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"after-fix","environment":{"id":"env-1"}}}`, nil)
	if failed := st.waitTerminal(rec.ID, 20*time.Second); failed.State != change.StateFailed {
		t.Fatalf("want failed, got %s", failed.State)
	}
	st.sim.SetCredentials(map[string]string{simKey: simSecret}, nil)

	proxy.PauseOn(publishPattern)
	resp, data := st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/retry", testToken, "", nil, nil)
	proxy.Resume()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(data), "may have been re-queued") {
		t.Fatalf("late retry: %d %s", resp.StatusCode, data)
	}
	var done change.Record
	testkit.Eventually(t, 30*time.Second, "generation 1 succeeded", func() (bool, string) {
		resp, data := st.do(http.MethodGet, "/v1/changes/"+rec.ID, testToken, "", nil, nil)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &done) != nil {
			return false, string(data)
		}
		return done.Generation == 1 && done.State == change.StateSucceeded, string(done.State)
	})
	if len(done.Retries) != 1 || done.Retries[0].By != "jira" || done.Retries[0].Generation != 1 {
		t.Fatalf("retries on the record: %+v", done.Retries)
	}
	// The repeat finds the generation done: nothing more is queued.
	resp, data = st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/retry", testToken, "", nil, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(data), "this one is succeeded") {
		t.Fatalf("repeat: %d %s", resp.StatusCode, data)
	}
	if q := st.queued(); q != 0 {
		t.Fatalf("%d changes still queued", q)
	}
	if evs := st.waitEvents([]string{rec.ID}, 2, 20*time.Second); len(evs[rec.ID]) != 2 {
		t.Fatalf("%d terminal events, want 2 (one per generation)", len(evs[rec.ID]))
	}
	if p, _ := st.sim.Peering("p-1"); p.DisplayName != "after-fix" {
		t.Fatalf("upstream display name %q", p.DisplayName)
	}
}
