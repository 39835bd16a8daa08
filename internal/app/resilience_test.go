package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

func TestAPIAnswers503WhileNATSIsDownAndRecovers(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	body := []byte(`{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`)
	st.submit("/networking/v1/peerings/p-1", string(body), nil)

	st.stopNATS()
	resp, data := st.do(http.MethodPatch, "/networking/v1/peerings/p-1", testToken, "application/json", body, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("with NATS down: %d %s, want 503", resp.StatusCode, data)
	}
	if resp, _ := st.do(http.MethodGet, "/readyz", "", "", nil, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with NATS down: %d", resp.StatusCode)
	}
	if resp, _ := st.do(http.MethodGet, "/healthz", "", "", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with NATS down: %d", resp.StatusCode)
	}

	st.restartNATS()
	testkit.Eventually(t, 20*time.Second, "the api accepting again after NATS came back", func() (bool, string) {
		resp, _ := st.do(http.MethodPatch, "/networking/v1/peerings/p-1", testToken, "application/json", body, nil)
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("while recovering: %d", resp.StatusCode)
		}
		return resp.StatusCode == http.StatusAccepted, fmt.Sprintf("status %d", resp.StatusCode)
	})
	// Exactly the two accepted changes are in the queue: the 503 left nothing behind.
	if n := st.queued(); n != 2 {
		t.Fatalf("%d changes queued, want 2", n)
	}
}

func TestKilledWorkerLosesNothing(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	// Slow upstream so that the kill lands mid-batch with calls in flight.
	st.sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 50 * time.Millisecond, Seed: 1})
	var ids []string
	for i := 0; i < 40; i++ {
		rec := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"n`+itoa(i)+`","environment":{"id":"env-1"}}}`, nil)
		ids = append(ids, rec.ID)
	}
	first := st.startWorker(st.workerConfig())
	// Kill once a few changes are through.
	testkit.Eventually(t, 20*time.Second, "five upstream calls before the kill", func() (bool, string) {
		n := len(st.sim.Requests())
		return n >= 5, fmt.Sprintf("%d calls", n)
	})
	first.kill()
	st.sim.SetFaults(ccloudsim.Faults{})
	st.startWorker(st.workerConfig())

	for _, id := range ids {
		if rec := st.waitTerminal(id, 60*time.Second); rec.State != change.StateSucceeded {
			t.Fatalf("%s ended %s", id, rec.State)
		}
	}
	evs := st.waitEvents(ids, 1, 20*time.Second)
	for _, id := range ids {
		if n := len(evs[id]); n != 1 {
			t.Fatalf("%s has %d terminal events", id, n)
		}
	}
	// Same resource: the final state is the last accepted change.
	if p, _ := st.sim.Peering("p-1"); p.DisplayName != "n39" {
		t.Fatalf("final display name %q, want n39", p.DisplayName)
	}
}

func TestRetryEndpointAfterCredentialsAreFixed(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.sim.SetCredentials(map[string]string{simKey: "rotated"}, nil)
	st.startWorker(st.workerConfig())
	rec := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"after-fix","environment":{"id":"env-1"}}}`, nil)
	failed := st.waitTerminal(rec.ID, 20*time.Second)
	if failed.State != change.StateFailed || failed.Error == nil || failed.Error.Status != "401" {
		t.Fatalf("want failed with 401, got %s %+v", failed.State, failed.Error)
	}
	// A newer change to the same resource (failed as well, same credentials).
	other := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`, nil)
	st.waitTerminal(other.ID, 20*time.Second)

	st.sim.SetCredentials(map[string]string{simKey: simSecret}, nil)
	// Retrying the older change would apply its body over the newer one:
	// refused, naming the newer change, unless forced.
	resp, data := st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/retry", testToken, "", nil, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(data), "stale_change") || !strings.Contains(string(data), other.ID) {
		t.Fatalf("retry of the older change: %d %s", resp.StatusCode, data)
	}
	resp, data = st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/retry?force=true", testToken, "", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("forced retry: %d %s", resp.StatusCode, data)
	}
	done := st.waitTerminal(rec.ID, 20*time.Second)
	if done.State != change.StateSucceeded || done.Generation != 1 || len(done.Attempts) != 2 || done.Error != nil ||
		len(done.Retries) != 1 || !done.Retries[0].Forced || done.Retries[0].Generation != 1 {
		t.Fatalf("after retry: %+v", done)
	}
	if p, _ := st.sim.Peering("p-1"); p.DisplayName != "after-fix" {
		t.Fatalf("upstream display name %q after the forced retry, want after-fix", p.DisplayName)
	}
	if resp, _ := st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/retry", testToken, "", nil, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("retry of a succeeded change: %d, want 409", resp.StatusCode)
	}
	evs := st.waitEvents([]string{rec.ID}, 2, 20*time.Second)
	if n := len(evs[rec.ID]); n != 2 { // one per generation: failed, then succeeded
		t.Fatalf("%d terminal events, want 2", n)
	}
}
