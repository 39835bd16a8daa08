package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notifyqueue"
	"github.com/patchbay/patchbay/internal/outbound"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/ticketsim"
	"github.com/patchbay/patchbay/internal/topology"
)

const (
	jiraSimEmail = "bot@example.com"
	jiraSimToken = "jira-api-token-SECRET-42"
)

// notifierConfig routes every caller's results to Jira (the default).
func (st *stack) notifierConfig(jiraURL string) app.NotifierConfig {
	c := app.NotifierConfig{
		NATS: st.natsCfg, PublicURL: "https://patchbay.example.com",
		Notify: notify.EnvConfig{Concurrency: 4, Timeout: 2 * time.Second, MaxAttempts: 2, MaxAge: time.Hour,
			MaxWait: 5 * time.Second, BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		Outbound: outbound.EnvConfig{AllowedHosts: "127.0.0.1", AllowPrivate: true, AllowHTTP: true},
	}
	c.Routes.Default = `{"jira":{}}`
	c.Jira.URL, c.Jira.Email, c.Jira.APIToken = jiraURL, jiraSimEmail, jiraSimToken
	return c
}

func (st *stack) startNotifier(cfg app.NotifierConfig) {
	st.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := app.NewNotifier(ctx, cfg, st.logger("notifier"), prometheus.NewRegistry())
	if err != nil {
		cancel()
		st.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	st.t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	testkit.Eventually(st.t, 5*time.Second, "fan-out consumer", func() (bool, string) {
		_, err := st.js.Consumer(context.Background(), notify.EventsStream, "notifier")
		return err == nil, ""
	})
}

// notifications reads the change record through the api.
func (st *stack) notifications(id string) (change.Record, []notifyqueue.Delivery) {
	st.t.Helper()
	resp, data := st.do(http.MethodGet, "/v1/changes/"+id, testToken, "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		st.t.Fatalf("GET %s: %d %s", id, resp.StatusCode, data)
	}
	var view struct {
		change.Record
		Notifications []notifyqueue.Delivery `json:"notifications"`
	}
	if err := json.Unmarshal(data, &view); err != nil {
		st.t.Fatal(err)
	}
	return view.Record, view.Notifications
}

func TestJiraCommentGivenUpThenRedeliveredThroughTheAPI(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.startWorker(st.workerConfig())
	jira := ticketsim.NewJira(jiraSimEmail, jiraSimToken, time.Now, "OPS-7")
	jiraSrv := httptest.NewServer(jira)
	t.Cleanup(jiraSrv.Close)
	jira.FailAlways(&ticketsim.Fault{Status: http.StatusServiceUnavailable})
	st.startNotifier(st.notifierConfig(jiraSrv.URL))

	rec := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"renamed","environment":{"id":"env-1"}}}`,
		map[string]string{"X-Patchbay-Ticket": "OPS-7"})
	done := st.waitTerminal(rec.ID, 20*time.Second)
	if done.State != change.StateSucceeded {
		t.Fatalf("change ended %s", done.State)
	}
	var ds []notifyqueue.Delivery
	testkit.Eventually(t, 10*time.Second, "jira delivery given up, on the record", func() (bool, string) {
		_, ds = st.notifications(rec.ID)
		return len(ds) == 1 && ds[0].State == notifyqueue.GivenUp, strings.TrimSpace(func() string { b, _ := json.Marshal(ds); return string(b) }())
	})
	if ds[0].Destination != "jira" || ds[0].EventID != rec.ID+".g0.terminal" || ds[0].Attempts != 2 || ds[0].LastStatusCode != 503 {
		t.Fatalf("given-up delivery %+v", ds[0])
	}

	jira.Recover()
	resp, data := st.do(http.MethodPost, "/v1/changes/"+rec.ID+"/notify", testToken, "", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST notify: %d %s", resp.StatusCode, data)
	}
	testkit.Eventually(t, 10*time.Second, "comment after redelivery", func() (bool, string) {
		_, ds = st.notifications(rec.ID)
		return len(ds) == 1 && ds[0].State == notifyqueue.Delivered, string(ds[0].State)
	})
	cs := jira.Comments()
	if len(cs) != 1 || cs[0].Issue != "OPS-7" || cs[0].EventID != rec.ID+".g0.terminal" ||
		!strings.Contains(cs[0].Text, "https://patchbay.example.com/v1/changes/"+rec.ID) {
		t.Fatalf("comments %+v", cs)
	}
	// The record itself never changed: the status lives beside it.
	after, _ := st.notifications(rec.ID)
	if after.State != change.StateSucceeded || !after.UpdatedAt.Equal(done.UpdatedAt) {
		t.Fatalf("record changed: %+v", after)
	}
	if strings.Contains(st.logs.String(), jiraSimToken) {
		t.Fatal("the Jira API token is in the logs")
	}
}

func TestNotifierConfigErrorsNameTheVariable(t *testing.T) {
	base := func() app.NotifierConfig {
		return app.NotifierConfig{
			NATS:     topology.Settings{URL: "nats://127.0.0.1:1", Replicas: 1, Partitions: 1, AckWait: 30 * time.Second},
			Notify:   notify.EnvConfig{Concurrency: 4, Timeout: time.Second, MaxAttempts: 3, MaxAge: time.Hour, MaxWait: time.Minute, BackoffBase: time.Second, BackoffMax: time.Minute},
			Outbound: outbound.EnvConfig{AllowedHosts: "hooks.example.com,*.atlassian.net"},
		}
	}
	cases := []struct {
		name, want string
		mod        func(*app.NotifierConfig)
	}{
		{"concurrency", "NOTIFY_CONCURRENCY", func(c *app.NotifierConfig) { c.Notify.Concurrency = 0 }},
		{"backoff", "NOTIFY_BACKOFF_BASE", func(c *app.NotifierConfig) { c.Notify.BackoffMax = time.Millisecond }},
		{"allowlist", "NOTIFY_ALLOWED_HOSTS", func(c *app.NotifierConfig) { c.Outbound.AllowedHosts = "https://x.example.com" }},
		{"public url", "PATCHBAY_PUBLIC_URL", func(c *app.NotifierConfig) { c.PublicURL = "patchbay.example.com" }},
		{"jira email", "NOTIFY_JIRA_EMAIL", func(c *app.NotifierConfig) { c.Jira.URL = "https://acme.atlassian.net" }},
		{"jira host", "NOTIFY_JIRA_URL", func(c *app.NotifierConfig) {
			c.Jira.URL, c.Jira.Email, c.Jira.APIToken = "https://jira.evil.example", "a@b.c", "tok-SECRET-1"
		}},
		{"jira not configured", "NOTIFY_JIRA_URL", func(c *app.NotifierConfig) { c.Routes.Default = `{"jira":{}}` }},
		{"servicenow auth", "NOTIFY_SERVICENOW_USER", func(c *app.NotifierConfig) { c.ServiceNow.URL = "https://acme.service-now.com" }},
		{"unknown destination", "NOTIFY_DEFAULT", func(c *app.NotifierConfig) { c.Routes.Default = `{"pager":{}}` }},
		{"default not JSON", "NOTIFY_DEFAULT", func(c *app.NotifierConfig) { c.Routes.Default = `[` }},
		{"callers file", "API_CALLERS_FILE", func(c *app.NotifierConfig) { c.Routes.CallersFile = "/nonexistent/callers.json" }},
		{"callback off the allowlist", "API_CALLERS_FILE", func(c *app.NotifierConfig) {
			c.Routes.Default = `{"webhook":{"url":"https://evil.example.net/x","secret_env":"S"}}`
			c.LookupEnv = func(string) (string, bool) { return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.mod(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := app.NewNotifier(ctx, cfg, st0(), prometheus.NewRegistry())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "MfKQ9r8") {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}
}

// st0 is a logger that discards.
func st0() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
