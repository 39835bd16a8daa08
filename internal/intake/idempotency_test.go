package intake_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/testkit/faultproxy"
	"github.com/patchbay/patchbay/internal/topology"
)

const peeringOp = "networking.v1.peerings.update"

// keyed is a PATCH of the test peering by jira with an Idempotency-Key.
func keyed(body, key string) *http.Request {
	req := patchRequest(strings.NewReader(body), "application/json", jiraToken)
	req.Header.Set("Idempotency-Key", key)
	return req
}

func decodeRecord(t *testing.T, rec *httptest.ResponseRecorder) change.Record {
	t.Helper()
	var r change.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return r
}

func TestIdempotencyKeyMemberOrderAndRaces(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	accepted := func() float64 { return counterValue(t, b.deps.Metrics.Accepted.WithLabelValues(peeringOp)) }
	bodies := []string{
		`{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`,
		`{"spec":{"environment":{"id":"env-1"},"display_name":"x"}}`,
		"{ \"spec\" :\n {\"environment\" : {\"id\":\"env-1\"} ,\"display_name\":\"x\"} }",
	}
	// Identical requests racing, with their members in another order.
	const n = 9
	results := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = b.do(t, keyed(bodies[i%len(bodies)], "race"))
		}()
	}
	close(start)
	wg.Wait()
	ids, fresh := map[string]bool{}, 0
	for _, rec := range results {
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		ids[decodeRecord(t, rec).ID] = true
		if rec.Header().Get("Idempotent-Replayed") != "true" {
			fresh++
		}
	}
	if len(ids) != 1 || fresh != 1 {
		t.Fatalf("ids %v, %d without Idempotent-Replayed; want one id and one fresh answer", ids, fresh)
	}
	if got := accepted(); got != 1 {
		t.Fatalf("accepted counter %v, want 1", got)
	}
	if q := changesInQueue(t, b.js); q != 1 {
		t.Fatalf("queue holds %d changes, want 1", q)
	}
}

// TestEnqueueLateAcknowledgement: a publish whose acknowledgement is late
// answers 503 saying the change may have been queued; the retry with the
// same key gets the one change.
func TestEnqueueLateAcknowledgement(t *testing.T) {
	t.Parallel()
	srv, _, direct := testkit.StartNATS(t)
	proxy, err := faultproxy.New(strings.TrimPrefix(srv.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	nc, js, err := topology.Connect(proxy.URL(), "intake-test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	t.Cleanup(proxy.Resume)
	testkit.Eventually(t, 5*time.Second, "connected", func() (bool, string) { return nc.IsConnected(), nc.Status().String() })
	b := newBundleOn(t, intake.Config{EnqueueTimeout: 2 * time.Second}, mustCallers(t), nil, js)

	proxy.PauseOn("PUB patchbay.changes.")
	rec := b.do(t, keyed(peeringBody, "late"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("late acknowledgement: %d %s", rec.Code, rec.Body)
	}
	e := envelope(t, rec)
	if e.Code != "queue_outcome_unknown" || !strings.Contains(e.Detail, "may have been queued") ||
		!strings.Contains(e.Detail, "same Idempotency-Key") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("503 envelope %+v, headers %v", e, rec.Header())
	}
	proxy.Resume()
	testkit.Eventually(t, 5*time.Second, "link answers", func() (bool, string) {
		err := nc.FlushTimeout(time.Second)
		return err == nil, ""
	})
	if q := changesInQueue(t, direct); q != 1 {
		t.Fatalf("stored %d changes after the late acknowledgement, want 1", q)
	}
	retry := b.do(t, keyed(peeringBody, "late"))
	if retry.Code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", retry.Code, retry.Body)
	}
	id := decodeRecord(t, retry).ID
	if q := changesInQueue(t, direct); q != 1 {
		t.Fatalf("stored %d changes after the retry, want 1", q)
	}
	if got := counterValue(t, b.deps.Metrics.Accepted.WithLabelValues(peeringOp)); got != 1 {
		t.Fatalf("accepted counter %v, want 1", got)
	}
	get := httptest.NewRequest(http.MethodGet, "/v1/changes/"+id, nil)
	get.Header.Set("Authorization", "Bearer "+jiraToken)
	if r := b.do(t, get); r.Code != http.StatusOK {
		t.Fatalf("GET after 202: %d", r.Code)
	}

	// Without a key the 503 cannot offer a safe retry, and says so.
	proxy.PauseOn("PUB patchbay.changes.")
	unkeyed := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	proxy.Resume()
	if e := envelope(t, unkeyed); unkeyed.Code != http.StatusServiceUnavailable || e.Code != "queue_outcome_unknown" ||
		!strings.Contains(e.Detail, "send an Idempotency-Key") {
		t.Fatalf("late acknowledgement without a key: %d %+v", unkeyed.Code, e)
	}

	// NATS down before anything is sent: nothing was queued, and it says so.
	proxy.Refuse(true)
	testkit.Eventually(t, 5*time.Second, "disconnected", func() (bool, string) { return !nc.IsConnected(), "" })
	down := b.do(t, keyed(peeringBody, "down"))
	if e := envelope(t, down); down.Code != http.StatusServiceUnavailable || e.Code != "queue_unavailable" || !strings.Contains(e.Detail, "nothing was queued") {
		t.Fatalf("NATS down: %d %+v", down.Code, e)
	}
	proxy.Refuse(false)
}

func TestRetryEndpoint(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	submit := func(body, key string) change.Record {
		rec := b.do(t, keyed(body, key))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("submit: %d %s", rec.Code, rec.Body)
		}
		return decodeRecord(t, rec)
	}
	// conclude sets a change's state as a worker would.
	conclude := func(id string, state change.State, body string) {
		rec, rev, err := b.records.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec.State = state
		if state == change.StateFailed {
			if err := b.records.SavePayload(ctx, id, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.records.Update(ctx, rec, rev); err != nil {
			t.Fatal(err)
		}
	}
	retry := func(id, query string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/changes/"+id+"/retry"+query, nil)
		req.Header.Set("Authorization", "Bearer "+jiraToken)
		return b.do(t, req)
	}
	older := submit(`{"spec":{"display_name":"old","environment":{"id":"env-1"}}}`, "old")
	conclude(older.ID, change.StateFailed, `{"spec":{"display_name":"old","environment":{"id":"env-1"}}}`)
	newer := submit(`{"spec":{"display_name":"new","environment":{"id":"env-1"}}}`, "new")
	conclude(newer.ID, change.StateSucceeded, "")

	tests := []struct {
		name, id, query string
		wantStatus      int
		wantCode        string
		wantDetail      string
		wantForced      bool
	}{
		{name: "older change after a newer one is stale", id: older.ID, wantStatus: http.StatusConflict,
			wantCode: "stale_change", wantDetail: newer.ID + " to the same resource was accepted after this one (succeeded)"},
		{name: "force must be a boolean", id: older.ID, query: "?force=yes", wantStatus: http.StatusBadRequest, wantCode: "invalid_force"},
		{name: "forced", id: older.ID, query: "?force=true", wantStatus: http.StatusAccepted, wantForced: true},
		{name: "now queued: not failed, says queued", id: older.ID, wantStatus: http.StatusConflict,
			wantCode: "change_not_failed", wantDetail: "this one is queued"},
		{name: "succeeded: not failed, says succeeded", id: newer.ID, wantStatus: http.StatusConflict,
			wantCode: "change_not_failed", wantDetail: "this one is succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := retry(tt.id, tt.query)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus != http.StatusAccepted {
				e := envelope(t, rec)
				if e.Code != tt.wantCode || !strings.Contains(e.Detail, tt.wantDetail) {
					t.Fatalf("envelope %+v, want code %s with %q", e, tt.wantCode, tt.wantDetail)
				}
				return
			}
			r := decodeRecord(t, rec)
			if r.Generation != 1 || len(r.Retries) != 1 || r.Retries[0].By != "jira" || r.Retries[0].Forced != tt.wantForced || r.Retries[0].At.IsZero() {
				t.Fatalf("record after the retry: %+v", r)
			}
		})
	}
}

// mustCallers are the callers jira and bot.
func mustCallers(t *testing.T) *intake.Callers {
	t.Helper()
	callers, err := intake.ParseCallers("jira=" + jiraToken + ",bot=" + botToken)
	if err != nil {
		t.Fatal(err)
	}
	return callers
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
