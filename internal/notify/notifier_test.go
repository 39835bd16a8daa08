package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/notifyqueue"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/ticketsim"
)

func TestDeliversToEachKind(t *testing.T) {
	b := newBundle(t, testConfig())
	b.start(nil)
	evJ, rawJ := b.publish("ops", "OPS-1", change.StateSucceeded)
	evS, _ := b.publish("ops", "change_request:"+snSysID, change.StateFailed)
	evQ, _ := b.publish("quiet", "OPS-2", change.StateSucceeded) // no routes
	evR, _ := b.publish("ops", "OPS-1", change.StateRetrying)    // not chosen by ops
	evC, _ := b.publish("chatty", "OPS-1", change.StateRetrying) // chosen by chatty

	for _, c := range []struct{ id, dest string }{
		{evJ.Data.ID, "webhook"}, {evJ.Data.ID, "jira"}, {evS.Data.ID, "webhook"}, {evS.Data.ID, "servicenow"}, {evC.Data.ID, "webhook"},
	} {
		d := b.waitState(c.id, c.dest, notifyqueue.Delivered, 10*time.Second)
		if d.Attempts != 1 || d.LastErrorCode != "" {
			t.Errorf("%s %s: %+v, want one clean attempt", c.id, c.dest, d)
		}
	}
	// Signed callbacks: webhook-id is exactly the CloudEvent id, the body
	// exactly the stored event.
	cbs := b.recv.Callbacks()
	if len(cbs) != 3 {
		t.Fatalf("callbacks = %d, want 3", len(cbs))
	}
	byID := map[string][]byte{}
	for _, cb := range cbs {
		byID[cb.WebhookID] = cb.Body
	}
	if !bytes.Equal(byID[evJ.ID], rawJ) {
		t.Errorf("callback for %s: body %q, want the stored event %q", evJ.ID, byID[evJ.ID], rawJ)
	}
	for _, r := range b.recv.Requests() {
		if ct := r.Header.Get("Content-Type"); ct != "application/cloudevents+json" {
			t.Errorf("callback Content-Type %q", ct)
		}
	}
	// Jira: one comment on OPS-1 saying what, outcome, request id, link.
	cs := b.jira.Comments()
	if len(cs) != 1 || cs[0].Issue != "OPS-1" || cs[0].EventID != evJ.ID {
		t.Fatalf("jira comments = %+v", cs)
	}
	for _, want := range []string{"p-123", "succeeded", "req-abc-123", "https://patchbay.example.com/v1/changes/" + evJ.Data.ID} {
		if !strings.Contains(cs[0].Text, want) {
			t.Errorf("jira comment %q lacks %q", cs[0].Text, want)
		}
	}
	// ServiceNow: one work note on the record.
	ns := b.sn.WorkNotes()
	if len(ns) != 1 || ns[0].SysID != snSysID || !strings.Contains(ns[0].Text, "failed") || !strings.Contains(ns[0].Text, evS.ID) {
		t.Fatalf("work notes = %+v", ns)
	}
	// Nothing for the quiet caller, nor for ops' retrying event.
	for _, id := range []string{evQ.Data.ID, evR.Data.ID} {
		if ds, _ := b.store.Deliveries(context.Background(), id); len(ds) != 0 {
			t.Errorf("%s: deliveries %+v, want none", id, ds)
		}
	}
	if got := counter(b.m.Deliveries.WithLabelValues("jira", "delivered")); got != 1 {
		t.Errorf("jira delivered metric = %v", got)
	}
}

func TestRateLimitsAreWaitedOutExactly(t *testing.T) {
	cases := []struct {
		name  string
		fault func(now time.Time) (ticketsim.Fault, time.Time)
	}{
		{"Retry-After seconds", func(now time.Time) (ticketsim.Fault, time.Time) {
			return ticketsim.Fault{Status: 429, Header: http.Header{"Retry-After": {"2"}}}, now.Add(2 * time.Second)
		}},
		{"X-RateLimit-Reset ISO-8601", func(now time.Time) (ticketsim.Fault, time.Time) {
			reset := now.Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
			return ticketsim.Fault{Status: 429, Header: http.Header{"X-Ratelimit-Reset": {reset.UTC().Format("2006-01-02T15:04:05Z")}}}, reset
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, testConfig())
			b.start(nil)
			fault, _ := tc.fault(time.Now())
			b.jira.Push(fault)
			ev, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
			b.waitState(ev.Data.ID, "jira", notifyqueue.Delivered, 15*time.Second)
			reqs := b.jira.Requests()
			if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 201 {
				t.Fatalf("jira requests: %d, want 429 then 201", len(reqs))
			}
			_, notBefore := tc.fault(reqs[0].At)
			if tc.name == "X-RateLimit-Reset ISO-8601" {
				reset, _ := time.Parse(time.RFC3339, fault.Header.Get("X-Ratelimit-Reset"))
				notBefore = reset
			}
			if reqs[1].At.Before(notBefore.Add(-50 * time.Millisecond)) {
				t.Errorf("retried at %s, before the receiver's %s", reqs[1].At.Format(time.RFC3339Nano), notBefore.Format(time.RFC3339Nano))
			}
			if gap := reqs[1].At.Sub(notBefore); gap > 3*time.Second {
				t.Errorf("retried %s after the wait ended, want promptly", gap)
			}
			if got := counter(b.m.Retries.WithLabelValues("jira")); got != 1 {
				t.Errorf("retries metric = %v", got)
			}
		})
	}
}

func TestRateLimitPausesTheWholeDestination(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency = 1 // the 429 is seen before the burst is sent
	b := newBundle(t, cfg)
	b.start(nil)
	b.jira.Push(ticketsim.Fault{Status: 429, Header: http.Header{"Retry-After": {"2"}}})
	first, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
	testkit.Eventually(t, 5*time.Second, "the 429", func() (bool, string) {
		return len(b.jira.Requests()) == 1, ""
	})
	var ids []string
	for range 5 {
		ev, _ := b.publish("ops", "OPS-2", change.StateSucceeded)
		ids = append(ids, ev.Data.ID)
	}
	for _, id := range append(ids, first.Data.ID) {
		b.waitState(id, "jira", notifyqueue.Delivered, 15*time.Second)
	}
	reqs := b.jira.Requests()
	if len(reqs) != 7 {
		t.Fatalf("jira got %d requests, want 7 (one 429, then six comments)", len(reqs))
	}
	quietUntil := reqs[0].At.Add(2 * time.Second)
	for _, r := range reqs[1:] {
		if r.Status != 201 || r.At.Before(quietUntil.Add(-50*time.Millisecond)) {
			t.Errorf("request at %s (status %d) inside the Retry-After that ended %s", r.At.Format(time.RFC3339Nano), r.Status, quietUntil.Format(time.RFC3339Nano))
		}
	}
	for _, id := range ids {
		if d := b.waitState(id, "jira", notifyqueue.Delivered, time.Second); d.Attempts != 1 {
			t.Errorf("%s: %d attempts, want 1 (waiting for the pause is not an attempt)", id, d.Attempts)
		}
	}
	// Other destinations were not paused.
	if n := len(b.recv.Callbacks()); n != 6 {
		t.Errorf("callbacks %d, want 6", n)
	}
}

func TestDestinationDownThenBack(t *testing.T) {
	b := newBundle(t, testConfig())
	b.cfg.MaxAttempts = 1000
	b.start(nil)
	b.recv.FailAlways(&ticketsim.Fault{Status: http.StatusServiceUnavailable})
	ev, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
	d := b.waitState(ev.Data.ID, "webhook", notifyqueue.Retrying, 10*time.Second)
	if d.LastStatusCode != 503 || d.LastErrorCode != "http_503" || d.NextAttemptAt == nil {
		t.Errorf("retrying status %+v", d)
	}
	testkit.Eventually(t, 10*time.Second, "several failed attempts", func() (bool, string) {
		n := len(b.recv.Requests())
		return n >= 3, "requests so far: " + itoa(n)
	})
	b.recv.Recover()
	d = b.waitState(ev.Data.ID, "webhook", notifyqueue.Delivered, 10*time.Second)
	if d.Attempts < 4 {
		t.Errorf("attempts %d, want the failures counted", d.Attempts)
	}
	if cbs := b.recv.Callbacks(); len(cbs) != 1 || cbs[0].WebhookID != ev.ID {
		t.Errorf("callbacks %+v", cbs)
	}
}

func TestGivenUpVisibleAndRedelivered(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttempts = 3
	b := newBundle(t, cfg)
	b.start(nil)
	b.jira.FailAlways(&ticketsim.Fault{Status: http.StatusBadGateway})
	ev, _ := b.publish("ops", "OPS-1", change.StateFailed)
	d := b.waitState(ev.Data.ID, "jira", notifyqueue.GivenUp, 10*time.Second)
	if d.Attempts != 3 || d.LastStatusCode != 502 {
		t.Errorf("given up: %+v, want 3 attempts ending in 502", d)
	}
	// The webhook of the same event was not held back.
	b.waitState(ev.Data.ID, "webhook", notifyqueue.Delivered, 5*time.Second)
	if got := counter(b.m.GivenUp.WithLabelValues("jira", "max_attempts")); got != 1 {
		t.Errorf("given_up metric = %v", got)
	}
	b.jira.Recover()
	ds, err := b.store.Redeliver(context.Background(), ev.Data.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Errorf("redeliver answered %+v", ds)
	}
	d = b.waitState(ev.Data.ID, "jira", notifyqueue.Delivered, 10*time.Second)
	if d.Attempts != 1 || d.Redeliveries != 1 {
		t.Errorf("after redelivery: %+v", d)
	}
	if cs := b.jira.Comments(); len(cs) != 1 {
		t.Errorf("comments %d, want 1", len(cs))
	}
	if _, err := b.store.Redeliver(context.Background(), ev.Data.ID); err != notifyqueue.ErrNothingToRedeliver {
		t.Errorf("second redeliver: %v, want ErrNothingToRedeliver", err)
	}
}

func TestSlowOrFailingDestinationDoesNotDelayAnother(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency = 2
	cfg.CallTimeout = 10 * time.Second
	cfg.AckWait = 15 * time.Second
	cfg.MaxAttempts = 1000
	b := newBundle(t, cfg)
	b.start(nil)
	b.recv.SetDelay(6 * time.Second)                                         // slow webhook
	b.sn.FailAlways(&ticketsim.Fault{Status: http.StatusServiceUnavailable}) // failing ServiceNow
	start := time.Now()
	var ids []string
	for range 10 {
		ev, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
		ids = append(ids, ev.Data.ID)
		b.publish("ops", "change_request:"+snSysID, change.StateSucceeded)
	}
	testkit.Eventually(t, 4*time.Second, "all 10 Jira comments while the webhook is slow", func() (bool, string) {
		n := len(b.jira.Comments())
		return n == 10, itoa(n) + " comments"
	})
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("jira burst took %s", el)
	}
	if n := len(b.recv.Callbacks()); n > 2 {
		t.Errorf("%d slow callbacks already done; the test did not exercise slowness", n)
	}
	for _, id := range ids {
		b.waitState(id, "jira", notifyqueue.Delivered, time.Second)
	}
}

func TestKilledMidDeliveryIsDeliveredAfterRestart(t *testing.T) {
	cfg := testConfig()
	cfg.CallTimeout = 3 * time.Second
	cfg.AckWait = 4 * time.Second
	b := newBundle(t, cfg)
	conn, err := nats.Connect(b.url)
	if err != nil {
		t.Fatal(err)
	}
	stopA := b.start(conn)
	b.recv.SetDelay(time.Second)
	ev, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
	testkit.Eventually(t, 5*time.Second, "callback in flight", func() (bool, string) {
		return b.recv.Arrivals() == 1 && len(b.recv.Callbacks()) == 0, ""
	})
	conn.Close() // the first notifier loses NATS mid-call: it cannot ack
	stopA()
	b.recv.SetDelay(0)
	b.start(nil) // a second notifier
	testkit.Eventually(t, 15*time.Second, "callback after restart", func() (bool, string) {
		n := len(b.recv.Callbacks())
		return n >= 2, itoa(n)
	})
	for _, cb := range b.recv.Callbacks() {
		if cb.WebhookID != ev.ID {
			t.Errorf("webhook-id %q, want the same %q on every delivery", cb.WebhookID, ev.ID)
		}
	}
	b.waitState(ev.Data.ID, "webhook", notifyqueue.Delivered, 5*time.Second)
}

func TestHostileTicketIsRefusedAndNothingSent(t *testing.T) {
	b := newBundle(t, testConfig())
	b.start(nil)
	for _, tk := range []string{"OPS-1/../../admin", "ops-1", "OPS-1?x=1", "change_request:../../x", "sys_user:" + strings.Repeat("a", 31) + "/"} {
		ev, _ := b.publish("ops", tk, change.StateSucceeded)
		dest := "jira"
		if strings.Contains(tk, ":") {
			dest = "servicenow"
		}
		d := b.waitState(ev.Data.ID, dest, notifyqueue.GivenUp, 5*time.Second)
		if d.LastErrorCode != "invalid_ticket" || d.Attempts != 1 {
			t.Errorf("ticket %q: %+v", tk, d)
		}
	}
	if n := len(b.jira.Requests()) + len(b.sn.Requests()); n != 0 {
		t.Errorf("%d requests reached the ticketing simulators", n)
	}
}

func TestSecretsNeverInLogsStatusOrMetrics(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAttempts = 2
	b := newBundle(t, cfg)
	b.start(nil)
	b.jira.Push(ticketsim.Fault{Status: 503})
	b.sn.FailAlways(&ticketsim.Fault{Status: 401})
	ev, _ := b.publish("ops", "OPS-1", change.StateSucceeded)
	ev2, _ := b.publish("ops", "change_request:"+snSysID, change.StateFailed)
	b.waitState(ev.Data.ID, "jira", notifyqueue.Delivered, 10*time.Second)
	b.waitState(ev2.Data.ID, "servicenow", notifyqueue.GivenUp, 10*time.Second)
	var status bytes.Buffer
	for _, id := range []string{ev.Data.ID, ev2.Data.ID} {
		ds, _ := b.store.Deliveries(context.Background(), id)
		_ = json.NewEncoder(&status).Encode(ds)
	}
	var scrape bytes.Buffer
	mfs, _ := b.reg.Gather()
	for _, mf := range mfs {
		scrape.WriteString(mf.String())
	}
	for what, text := range map[string]string{"logs": b.logs.String(), "status": status.String(), "metrics": scrape.String()} {
		for _, secret := range []string{jiraToken, snPassword, whSecret, strings.TrimPrefix(whSecret, "whsec_")} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain a secret", what)
			}
		}
	}
	if !strings.Contains(b.logs.String(), "notification given up") {
		t.Errorf("logs lack the give-up line: %s", b.logs.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
