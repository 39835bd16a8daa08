package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
)

func TestChangeOfEachKindSucceeds(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.startWorker(st.workerConfig())

	peering := st.submit("/networking/v1/peerings/p-1", `{"spec":{"display_name":"renamed","environment":{"id":"env-1"}}}`, nil)
	integ := st.submit("/notifications/v1/integrations/i-1",
		`{"display_name":"alerts","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/T1/B1/NEWSECRET"}}`, nil)
	if peering.State != change.StateQueued || peering.RequestedBy != "jira" || peering.Operation != "networking.v1.peerings.update" {
		t.Fatalf("accepted record: %+v", peering)
	}

	for _, rec := range []change.Record{peering, integ} {
		done := st.waitTerminal(rec.ID, 20*time.Second)
		if done.State != change.StateSucceeded {
			t.Fatalf("%s ended %s: %+v", rec.Resource.Path, done.State, done.Error)
		}
		if len(done.Attempts) != 1 || done.Attempts[0].Status != 200 || done.Attempts[0].UpstreamRequestID == "" {
			t.Fatalf("attempts: %+v", done.Attempts)
		}
		if done.CompletedAt == nil || len(done.Result) == 0 {
			t.Fatalf("no completion or result: %+v", done)
		}
		if strings.Contains(string(done.Result), "NEWSECRET") {
			t.Fatalf("result leaks the Slack webhook URL: %s", done.Result)
		}
	}
	if p, _ := st.sim.Peering("p-1"); p.DisplayName != "renamed" {
		t.Fatalf("simulator peering display name %q", p.DisplayName)
	}
	if i, _ := st.sim.Integration("i-1"); i.DisplayName != "alerts" || i.Target["webhook_url"] != "https://hooks.slack.com/services/T1/B1/NEWSECRET" {
		t.Fatalf("simulator integration: %+v", i)
	}

	evs := st.waitEvents([]string{peering.ID, integ.ID}, 1, 20*time.Second)
	for _, rec := range []change.Record{peering, integ} {
		got := evs[rec.ID]
		if len(got) != 1 {
			t.Fatalf("%d terminal events for %s", len(got), rec.ID)
		}
		ev := got[0]
		if ev.SpecVersion != "1.0" || ev.Type != "dev.patchbay.change.succeeded" || ev.Subject != rec.Resource.Path ||
			ev.Source == "" || ev.ID == "" || ev.Time.IsZero() || ev.Data.State != change.StateSucceeded {
			t.Fatalf("not a valid CloudEvent: %+v", ev)
		}
		if ev.ID != events.ID(ev.Data) {
			t.Fatalf("event id %q is not deterministic", ev.ID)
		}
	}
}

func TestUpstreamPermanentErrorsFailTheChange(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	st.sim.SetFixedResponse("/networking/v1/peerings/p-404", 404)
	st.startWorker(st.workerConfig())

	missing := st.submit("/networking/v1/peerings/p-404", `{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`, nil)
	// RoleEmail integrations pass the intake's schema (the body is a Slack
	// target) but the upstream refuses to update them: a 422 from upstream.
	refused := st.submit("/notifications/v1/integrations/i-role", `{"display_name":"new name"}`, nil)

	for _, c := range []struct {
		rec    change.Record
		status string
	}{{missing, "404"}, {refused, "422"}} {
		done := st.waitTerminal(c.rec.ID, 20*time.Second)
		if done.State != change.StateFailed || done.Error == nil || done.Error.Status != c.status {
			t.Fatalf("%s: state %s error %+v, want failed with %s", c.rec.Resource.Path, done.State, done.Error, c.status)
		}
		if len(done.Attempts) != 1 {
			t.Fatalf("%s: a permanent error was retried: %+v", c.rec.Resource.Path, done.Attempts)
		}
	}
	evs := st.waitEvents([]string{missing.ID, refused.ID}, 1, 20*time.Second)
	for _, rec := range []change.Record{missing, refused} {
		if len(evs[rec.ID]) != 1 || evs[rec.ID][0].Type != "dev.patchbay.change.failed" {
			t.Fatalf("want one failed event for %s, got %+v", rec.ID, evs[rec.ID])
		}
	}
}

func TestBadRequestsAreRefusedAndNothingIsQueued(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	const peer = "/networking/v1/peerings/p-1"
	const integ = "/notifications/v1/integrations/i-1"
	okPeering := `{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`
	cases := []struct {
		name, method, path, token, ctype, body string
		want                                   int
		pointer                                string
	}{
		{"malformed JSON", "PATCH", peer, testToken, "application/json", `{"spec":`, 400, ""},
		{"wrong type", "PATCH", peer, testToken, "application/json", `{"spec":{"display_name":5,"environment":{"id":"env-1"}}}`, 422, "/spec/display_name"},
		{"unknown field", "PATCH", peer, testToken, "application/json", `{"spec":{"environment":{"id":"env-1"},"colour":"red"}}`, 422, "/spec/colour"},
		{"immutable cloud", "PATCH", peer, testToken, "application/json", `{"spec":{"environment":{"id":"env-1"},"cloud":{"kind":"AwsPeering"}}}`, 422, "/spec/cloud"},
		{"immutable network", "PATCH", peer, testToken, "application/json", `{"spec":{"environment":{"id":"env-1"},"network":{"id":"n-2"}}}`, 422, "/spec/network"},
		{"missing environment", "PATCH", peer, testToken, "application/json", `{"spec":{"display_name":"x"}}`, 422, "/spec/environment"},
		{"too long display_name", "PATCH", integ, testToken, "application/json", `{"display_name":"` + strings.Repeat("a", 65) + `"}`, 422, "/display_name"},
		{"too long description", "PATCH", integ, testToken, "application/json", `{"description":"` + strings.Repeat("a", 129) + `"}`, 422, "/description"},
		{"RoleEmail target", "PATCH", integ, testToken, "application/json", `{"target":{"kind":"RoleEmail","role_name":"OrganizationAdmin"}}`, 422, "/target/kind"},
		{"relative webhook URL", "PATCH", integ, testToken, "application/json", `{"target":{"kind":"Webhook","url":"/hook"}}`, 422, "/target/url"},
		{"bad path id", "PATCH", "/networking/v1/peerings/-bad", testToken, "application/json", okPeering, 422, ""},
		{"path traversal id", "PATCH", "/networking/v1/peerings/p-1%2F..%2F..%2Fiam", testToken, "application/json", okPeering, 422, ""},
		{"no token", "PATCH", peer, "", "application/json", okPeering, 401, ""},
		{"wrong token", "PATCH", peer, "not-a-valid-token-at-all", "application/json", okPeering, 401, ""},
		{"not JSON content type", "PATCH", peer, testToken, "text/plain", okPeering, 415, ""},
		{"oversized body", "PATCH", peer, testToken, "application/json", `{"spec":{"display_name":"` + strings.Repeat("a", 70<<10) + `","environment":{"id":"env-1"}}}`, 413, ""},
		{"unknown change", "GET", "/v1/changes/chg_aaaaaaaaaaaaaaaaaaaaaaaaaa", testToken, "", "", 404, ""},
		{"wrong method", "DELETE", peer, testToken, "", "", 405, ""},
		{"unknown route", "PATCH", "/iam/v2/api-keys/k-1", testToken, "application/json", okPeering, 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, data := st.do(c.method, c.path, c.token, c.ctype, []byte(c.body), nil)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, data)
			}
			env, err := apierror.Decode(data)
			if err != nil || len(env.Errors) == 0 {
				t.Fatalf("not an error envelope: %s", data)
			}
			if env.Errors[0].Status != itoa(c.want) || env.Errors[0].Code == "" || env.Errors[0].Detail == "" {
				t.Fatalf("envelope entry incomplete: %+v", env.Errors[0])
			}
			if c.pointer != "" {
				found := false
				for _, e := range env.Errors {
					found = found || (e.Source != nil && e.Source.Pointer == c.pointer)
				}
				if !found {
					t.Fatalf("no error points at %s: %s", c.pointer, data)
				}
			}
		})
	}
	if n := st.queued(); n != 0 {
		t.Fatalf("%d changes queued by bad requests", n)
	}
	if n := len(st.sim.Requests()); n != 0 {
		t.Fatalf("%d requests reached the upstream", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	st := newStack(t, ccloudsim.Options{})
	body := `{"spec":{"display_name":"once","environment":{"id":"env-1"}}}`
	key := map[string]string{"Idempotency-Key": "ticket-42"}
	first := st.submit("/networking/v1/peerings/p-1", body, key)
	again := st.submit("/networking/v1/peerings/p-1", body, key)
	if again.ID != first.ID {
		t.Fatalf("same key and body gave two changes: %s, %s", first.ID, again.ID)
	}
	// The same key with another body is a conflict.
	resp, data := st.do(http.MethodPatch, "/networking/v1/peerings/p-1", testToken, "application/json",
		[]byte(`{"spec":{"display_name":"twice","environment":{"id":"env-1"}}}`), key)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("different body: %d %s", resp.StatusCode, data)
	}
	// Keys belong to a caller: another caller's same key is a new change.
	resp, data = st.do(http.MethodPatch, "/networking/v1/peerings/p-1", "other-token-0123456789abcdef", "application/json", []byte(body), key)
	var other change.Record
	_ = json.Unmarshal(data, &other)
	if resp.StatusCode != http.StatusAccepted || other.ID == first.ID {
		t.Fatalf("other caller: %d %s", resp.StatusCode, data)
	}

	st.startWorker(st.workerConfig())
	st.waitTerminal(first.ID, 20*time.Second)
	st.waitTerminal(other.ID, 20*time.Second)
	// A retry after completion still returns the same change.
	if late := st.submit("/networking/v1/peerings/p-1", body, key); late.ID != first.ID || late.State != change.StateSucceeded {
		t.Fatalf("late replay: %s %s", late.ID, late.State)
	}
	patches := 0
	for _, r := range st.sim.Requests() {
		if r.Method == http.MethodPatch && strings.Contains(string(r.Body), `"once"`) {
			patches++
		}
	}
	if patches != 2 { // one for jira's change, one for slackbot's
		t.Fatalf("%d upstream PATCHes, want 2", patches)
	}
}
