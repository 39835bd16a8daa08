package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/testkit"
)

// observedAPI replaces the stack's api by one registered on a registry the
// test can scrape; submits go to it from now on.
func (st *stack) observedAPI() *prometheus.Registry {
	st.t.Helper()
	reg := app.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	api, err := app.NewAPI(ctx, app.APIConfig{
		NATS: st.natsCfg, APITokens: "jira=" + testToken + ",slackbot=other-token-0123456789abcdef", MaxBodyBytes: 64 << 10,
	}, st.logger("api"), reg)
	if err != nil {
		st.t.Fatal(err)
	}
	st.t.Cleanup(api.Close)
	hs := httptest.NewServer(api.Handler)
	st.t.Cleanup(hs.Close)
	st.api, st.apiURL = api, hs.URL
	return reg
}

// startObservedWorker starts a worker registered on a registry the test
// can scrape.
func (st *stack) startObservedWorker(cfg app.WorkerConfig) *prometheus.Registry {
	st.t.Helper()
	reg := app.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, cfg, st.logger("worker"), reg)
	if err != nil {
		cancel()
		st.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	st.t.Cleanup(func() { cancel(); <-done; w.Close() })
	return reg
}

// scrape GETs /metrics from the handler the processes serve on METRICS_ADDR.
func scrape(t *testing.T, reg *prometheus.Registry) []byte {
	t.Helper()
	srv := httptest.NewServer(app.MetricsHandler(reg))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain") // the text format promtool reads
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	return body
}

// parseExposition parses a text exposition into metric families.
func parseExposition(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	return mfs
}

// gauge returns the value of an unlabelled gauge, or fails.
func gauge(t *testing.T, mfs map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	mf, ok := mfs[name]
	if !ok || len(mf.GetMetric()) != 1 {
		t.Fatalf("%s: not exported as one series", name)
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

// sumGauge sums every series of a gauge family.
func sumGauge(mfs map[string]*dto.MetricFamily, name string) float64 {
	total := 0.0
	for _, m := range mfs[name].GetMetric() {
		total += m.GetGauge().GetValue()
	}
	return total
}

// promtoolCheckMetrics runs `promtool check metrics` on a scrape. Without
// promtool the test is skipped, except in CI (CI=true) where it fails.
func promtoolCheckMetrics(t *testing.T, name string, body []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found (CI=true): %v", err)
		}
		t.Skip("promtool not found; install Debian's prometheus package")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics on the %s scrape: %v\n%s", name, err, out)
	}
}

func TestMetricsScrapesPassPromtoolWithBoundedLabels(t *testing.T) {
	// X-RateLimit headers (a generous limit) so the rate-limit gauges appear.
	st := newStack(t, ccloudsim.Options{RateLimit: 10000, RatePeriod: time.Second})
	apiReg := st.observedAPI()
	workerReg := st.startObservedWorker(st.workerConfig())

	// A workload over many resources: 200 peerings, one change each, two
	// upstream failures, and requests the intake refuses (ids in the path).
	const resources = 200
	seedPeerings(st.sim, resources)
	st.sim.SetFixedResponse("/networking/v1/peerings/p-7", 404)
	st.sim.SetFixedResponse("/networking/v1/peerings/p-8", 422)
	var paths, bodies []string
	for i := 0; i < resources; i++ {
		paths = append(paths, "/networking/v1/peerings/p-"+itoa(i))
		bodies = append(bodies, `{"spec":{"display_name":"n`+itoa(i)+`","environment":{"id":"env-1"}}}`)
	}
	ids := st.submitMany(paths, bodies)
	for _, path := range []string{"/networking/v1/peerings/p-x%2F..", "/networking/v1/peerings/-p-bad", "/iam/v2/api-keys/p-999"} {
		st.do(http.MethodPatch, path, testToken, "application/json", []byte(bodies[0]), nil)
	}
	st.do(http.MethodGet, "/v1/changes/chg_doesnotexist", testToken, "", nil, nil)
	st.do(http.MethodDelete, "/networking/v1/peerings/p-3", testToken, "", nil, nil)
	for _, id := range ids {
		st.waitTerminal(id, 60*time.Second)
	}

	forbidden := []string{"p-", "chg_", testToken, "other-token", simSecret, "SECRETSLACK"}
	for _, c := range []struct {
		name string
		reg  *prometheus.Registry
	}{{"api", apiReg}, {"worker", workerReg}} {
		t.Run(c.name, func(t *testing.T) {
			body := scrape(t, c.reg)
			mfs := parseExposition(t, body)
			series, values := 0, map[string]map[string]bool{}
			for name, mf := range mfs {
				for _, m := range mf.GetMetric() {
					series++
					for _, l := range m.GetLabel() {
						for _, f := range forbidden {
							if strings.Contains(l.GetValue(), f) {
								t.Errorf("%s{%s=%q}: label value contains %q", name, l.GetName(), l.GetValue(), f)
							}
						}
						if values[l.GetName()] == nil {
							values[l.GetName()] = map[string]bool{}
						}
						values[l.GetName()][l.GetValue()] = true
					}
				}
			}
			// Bounded whatever the number of resources and changes: routes,
			// codes, operations, outcomes, reasons, lanes and histogram buckets.
			for label, vs := range values {
				if len(vs) > 40 {
					t.Errorf("label %s has %d values after %d resources", label, len(vs), resources)
				}
			}
			if series > 200 {
				t.Errorf("%d series after %d resources", series, resources)
			}
			if up := gauge(t, mfs, "patchbay_queue_stats_up"); up != 1 {
				t.Errorf("patchbay_queue_stats_up %v", up)
			}
			if n := len(mfs["patchbay_queue_pending_changes"].GetMetric()); n != 1 {
				t.Errorf("%d consumers exported, want 1 (workers)", n)
			}
			for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
				if _, ok := mfs[name]; !ok {
					t.Errorf("%s missing: no Go or process collector", name)
				}
			}
			if c.name == "worker" {
				gauge(t, mfs, "patchbay_ratelimit_gate_closed")
				gauge(t, mfs, "patchbay_ratelimit_remaining_requests")
			}
			t.Logf("%d series, %d bytes", series, len(body))
			promtoolCheckMetrics(t, c.name, body)
		})
	}
}

func TestQueueMetricsAreReadFromJetStream(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	reg := st.observedAPI()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"q`+itoa(i)+`","environment":{"id":"env-1"}}}`, nil).ID)
	}
	st.submit("/notifications/v1/integrations/i-1", `{"display_name":"x"}`, nil)
	mfs := parseExposition(t, scrape(t, reg))
	if got := gauge(t, mfs, "patchbay_queue_backlog_changes"); got != 6 {
		t.Fatalf("backlog %v, want 6", got)
	}
	if got := sumGauge(mfs, "patchbay_queue_pending_changes"); got != 6 {
		t.Fatalf("pending over all lanes %v, want 6", got)
	}
	if got := gauge(t, mfs, "patchbay_queue_oldest_change_age_seconds"); got <= 0 || got > 60 {
		t.Fatalf("oldest change age %v", got)
	}

	rw := st.startWorker(st.workerConfig())
	for _, id := range ids {
		st.waitTerminal(id, 20*time.Second)
	}
	testkit.Eventually(t, 20*time.Second, "an empty backlog after every change completed", func() (bool, string) {
		mfs = parseExposition(t, scrape(t, reg))
		backlog := gauge(t, mfs, "patchbay_queue_backlog_changes")
		return backlog == 0, fmt.Sprintf("backlog %v", backlog)
	})
	if got := gauge(t, mfs, "patchbay_queue_oldest_change_age_seconds"); got != 0 {
		t.Fatalf("oldest change age %v with an empty queue", got)
	}
	if got := sumGauge(mfs, "patchbay_queue_pending_changes") + sumGauge(mfs, "patchbay_queue_in_flight_changes"); got != 0 {
		t.Fatalf("pending + in flight %v with an empty queue", got)
	}

	// Without NATS the scrape still answers, in bounded time, and says so.
	if err := rw.stop(); err != nil {
		t.Fatal(err)
	}
	st.stopNATS()
	start := time.Now()
	mfs = parseExposition(t, scrape(t, reg))
	if up := gauge(t, mfs, "patchbay_queue_stats_up"); up != 0 {
		t.Fatalf("patchbay_queue_stats_up %v with NATS down", up)
	}
	if _, ok := mfs["patchbay_queue_backlog_changes"]; ok {
		t.Fatal("a backlog is exported although JetStream could not be read")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("scrape with NATS down took %s", d)
	}
}

func TestTraceContextTravelsToTheUpstreamAndTheEvent(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.startWorker(st.workerConfig())
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, path, sent, want string
	}{
		{"valid", "/networking/v1/peerings/p-1", tp, tp},
		{"invalid is dropped", "/notifications/v1/integrations/i-1", "00-not-a-trace-01", ""},
		{"none", "/networking/v1/peerings/p-1", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.sent != "" {
				hdr["traceparent"] = tt.sent
			}
			body := `{"spec":{"display_name":"traced","environment":{"id":"env-1"}}}`
			if strings.Contains(tt.path, "integrations") {
				body = `{"display_name":"traced"}`
			}
			rec := st.submit(tt.path, body, hdr)
			done := st.waitTerminal(rec.ID, 20*time.Second)
			if done.State != change.StateSucceeded || len(done.Attempts) != 1 {
				t.Fatalf("change ended %s after %d attempts", done.State, len(done.Attempts))
			}
			upstream := ""
			for _, r := range st.sim.Requests() {
				if r.RequestID == done.Attempts[0].UpstreamRequestID {
					upstream = r.TraceParent
				}
			}
			if upstream != tt.want {
				t.Fatalf("upstream saw traceparent %q, want %q", upstream, tt.want)
			}
			evs := st.waitEvents([]string{rec.ID}, 1, 20*time.Second)
			if got := evs[rec.ID][0].TraceParent; got != tt.want {
				t.Fatalf("terminal event traceparent %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLogsCarryChangeContextAndNoSecrets(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.startWorker(st.workerConfig())
	const hook = "https://hooks.slack.com/services/T9/B9/LOGSECRETHOOK"
	// A success that stores a webhook URL, a change that fails after
	// retries (the upstream answers 500), a permanent failure, and an
	// operator retry of it.
	ok := st.submit("/notifications/v1/integrations/i-1", `{"target":{"kind":"Slack","webhook_url":"`+hook+`"}}`, nil)
	st.waitTerminal(ok.ID, 20*time.Second)
	st.sim.SetFixedResponse("/notifications/v1/integrations/i-1", 500)
	retried := st.submit("/notifications/v1/integrations/i-1", `{"display_name":"x","target":{"kind":"Slack","webhook_url":"`+hook+`"}}`, nil)
	if rec := st.waitTerminal(retried.ID, 30*time.Second); rec.State != change.StateFailed {
		t.Fatalf("change with upstream 500s ended %s", rec.State)
	}
	st.sim.SetFixedResponse("/networking/v1/peerings/p-1", 404)
	missing := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`, nil)
	st.waitTerminal(missing.ID, 20*time.Second)
	if resp, data := st.do(http.MethodPost, "/v1/changes/"+missing.ID+"/retry", testToken, "", nil, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("retry: %d %s", resp.StatusCode, data)
	}
	st.waitTerminal(missing.ID, 20*time.Second)

	logs := st.logs.String()
	basic := base64.StdEncoding.EncodeToString([]byte(simKey + ":" + simSecret))
	for _, secret := range []string{simSecret, basic, testToken, "other-token-0123456789abcdef", "LOGSECRETHOOK", "SECRETSLACK"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the secret %q", secret)
		}
	}

	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		msg, _ := entry["msg"].(string)
		if entry["change_id"] == nil {
			continue
		}
		seen[msg] = true
		for _, key := range []string{"operation", "resource"} {
			if entry[key] == nil || entry[key] == "" {
				t.Errorf("%q has change_id but no %s: %s", msg, key, line)
			}
		}
		switch msg {
		case "change completed", "change failed", "change will be retried":
			for _, key := range []string{"attempt", "upstream_request_id", "status"} {
				if entry[key] == nil || entry[key] == "" {
					t.Errorf("%q has no %s: %s", msg, key, line)
				}
			}
		}
	}
	for _, msg := range []string{"change accepted", "change completed", "change will be retried", "change failed", "change re-queued"} {
		if !seen[msg] {
			t.Errorf("no %q log line about a change", msg)
		}
	}
}
