package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/jira"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/servicenow"
	"github.com/patchbay/patchbay/internal/notify/webhook"
	"github.com/patchbay/patchbay/internal/notifyqueue"
	"github.com/patchbay/patchbay/internal/outbound"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/ticketsim"
)

// Test credentials; none may ever appear in a log, a status or a metric.
const (
	jiraEmail   = "bot@example.com"
	jiraToken   = "jira-api-token-SECRET-0123456789"
	snUser      = "patchbay"
	snPassword  = "sn-password-SECRET-0123456789"
	whSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	whSecretEnv = "TEST_CALLBACK_SECRET"
	snSysID     = "0123456789abcdef0123456789abcdef"
)

// bundle is a notifier wired to the three simulators over a real embedded
// JetStream server.
type bundle struct {
	t      testing.TB
	nc     *nats.Conn
	js     jetstream.JetStream
	url    string
	store  *notifyqueue.Store
	pub    *events.Publisher
	jira   *ticketsim.Jira
	sn     *ticketsim.ServiceNow
	recv   *ticketsim.Receiver
	dests  []notify.Destination
	reg    *prometheus.Registry
	m      *metrics.Notify
	logs   *testkit.SyncBuffer
	logger *slog.Logger
	cfg    notify.Config
}

// callersFile routes caller "ops" to all three destinations.
func callersFile(recvURL string) string {
	return `{"callers":[
	  {"name":"ops","token_sha256":"x","operations":["changes.read"],
	   "notify":{"webhook":{"url":"` + recvURL + `","secret_env":"` + whSecretEnv + `"},
	             "jira":{},"servicenow":{}}},
	  {"name":"chatty","notify":{"webhook":{"url":"` + recvURL + `","secret_env":"` + whSecretEnv + `","events":["retrying","succeeded","failed"]}}},
	  {"name":"quiet"}]}`
}

func testConfig() notify.Config {
	return notify.Config{
		Concurrency: 8, CallTimeout: 3 * time.Second, MaxAttempts: 5, MaxAge: time.Hour,
		MaxWait: 10 * time.Second, Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		AckWait: 4 * time.Second,
	}
}

func newBundle(t testing.TB, cfg notify.Config) *bundle {
	t.Helper()
	srv, nc, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	b := &bundle{t: t, nc: nc, js: js, url: srv.ClientURL(), cfg: cfg}
	ctx := context.Background()
	var err error
	if b.store, err = notifyqueue.New(ctx, js, time.Now); err != nil {
		t.Fatal(err)
	}
	if b.pub, err = events.NewPublisher(js, time.Now); err != nil {
		t.Fatal(err)
	}
	b.jira = ticketsim.NewJira(jiraEmail, jiraToken, time.Now, "OPS-1", "OPS-2")
	b.sn = ticketsim.NewServiceNow(snUser, snPassword, "", time.Now, "change_request:"+snSysID)
	if b.recv, err = ticketsim.NewReceiver(whSecret, time.Now); err != nil {
		t.Fatal(err)
	}
	jiraSrv, snSrv, recvSrv := httptest.NewServer(b.jira), httptest.NewServer(b.sn), httptest.NewServer(b.recv)
	t.Cleanup(jiraSrv.Close)
	t.Cleanup(snSrv.Close)
	t.Cleanup(recvSrv.Close)

	policy := outbound.Policy{AllowedHosts: []string{"127.0.0.1"}, AllowPrivate: true, AllowHTTP: true}
	client := outbound.NewClient(policy, cfg.CallTimeout, nil)
	table, err := route.Parse([]byte(callersFile(recvSrv.URL+"/hooks/patchbay")), "")
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		if k == whSecretEnv {
			return whSecret, true
		}
		return "", false
	}
	wh, err := webhook.New(table, policy, client, lookup, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	jr, err := jira.New(jira.Config{BaseURL: jiraSrv.URL, Email: jiraEmail, APIToken: jiraToken,
		PublicBaseURL: "https://patchbay.example.com"}, table, policy, client, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := servicenow.New(servicenow.Config{BaseURL: snSrv.URL, User: snUser, Password: snPassword,
		PublicBaseURL: "https://patchbay.example.com"}, table, policy, client, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b.dests = []notify.Destination{wh, jr, sn}
	b.reg = prometheus.NewRegistry()
	if b.m, err = metrics.NewNotify(b.reg); err != nil {
		t.Fatal(err)
	}
	b.logs = &testkit.SyncBuffer{}
	b.logger = redact.NewLogger(slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		jiraToken, snPassword, whSecret)
	return b
}

// start runs a notifier on its own NATS connection until the test ends or
// stop is called; stop waits for Run to return.
func (b *bundle) start(conn *nats.Conn) (stop func()) {
	b.t.Helper()
	if conn == nil {
		conn = b.nc
	}
	js, err := jetstream.New(conn)
	if err != nil {
		b.t.Fatal(err)
	}
	n, err := notify.New(b.cfg, notify.Deps{JS: js, Store: b.store, Destinations: b.dests,
		Metrics: b.m, Logger: b.logger, Now: time.Now})
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	// The fan-out consumer delivers only new events: wait until it exists.
	testkit.Eventually(b.t, 5*time.Second, "fan-out consumer", func() (bool, string) {
		_, err := b.js.Consumer(context.Background(), notify.EventsStream, "notifier")
		return err == nil, errString(err)
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				b.t.Errorf("notifier Run: %v", err)
			}
		})
	}
	b.t.Cleanup(stop)
	return stop
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// publish publishes the result event of a change by caller with ticket in
// state, and returns the event as stored.
func (b *bundle) publish(caller, ticket string, state change.State) (events.Event, []byte) {
	b.t.Helper()
	now := time.Now().UTC()
	rec := change.Record{
		ID: change.NewID(), State: state, Operation: "networking.v1.peerings.update",
		Resource:    change.Resource{Kind: "Peering", ID: "p-123", Path: "/networking/v1/peerings/p-123"},
		RequestedBy: caller, Ticket: ticket, AcceptedAt: now, QueuedAt: now, UpdatedAt: now,
		Attempts: []change.Attempt{{Number: 1, StartedAt: now, Status: 200, UpstreamRequestID: "req-abc-123"}},
	}
	if state.Terminal() {
		rec.CompletedAt = &now
	}
	if err := b.pub.Publish(context.Background(), rec, ""); err != nil {
		b.t.Fatal(err)
	}
	// Read it back exactly as stored.
	st, err := b.js.Stream(context.Background(), notify.EventsStream)
	if err != nil {
		b.t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(context.Background(), events.Subject(state))
	if err != nil {
		b.t.Fatal(err)
	}
	var ev events.Event
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		b.t.Fatal(err)
	}
	return ev, msg.Data
}

// waitState polls the delivery status of (change, destination) until it is want.
func (b *bundle) waitState(changeID, dest string, want notifyqueue.State, timeout time.Duration) notifyqueue.Delivery {
	b.t.Helper()
	var got notifyqueue.Delivery
	testkit.Eventually(b.t, timeout, dest+" "+string(want), func() (bool, string) {
		ds, err := b.store.Deliveries(context.Background(), changeID)
		if err != nil {
			return false, err.Error()
		}
		for _, d := range ds {
			if d.Destination == dest {
				got = d
				return d.State == want, string(d.State)
			}
		}
		return false, "no status"
	})
	return got
}

func counter(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }
