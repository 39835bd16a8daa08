package slackapp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/queue"
)

var apiErrorNotFound = apierror.Error{Status: "404", Code: "not_found", Title: "Not Found", Detail: "the peering does not exist"}

// payload returns the body queued for a change.
func (b *bundle) payload(id string) string {
	b.t.Helper()
	// Failing the change keeps its body where a retry finds it.
	rec := b.finish(id, change.StateFailed)
	body, err := b.records.Payload(context.Background(), rec.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(body)
}

func TestChangeCommands(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	for _, tc := range []struct {
		name, user, text string
		wantBody, wantOp string
		wantShown        []string
	}{
		{name: "peering", user: opsUser, text: `peering p-123 environment=env-abc display_name="prod east"`,
			wantOp: string(ccloud.UpdatePeering), wantBody: `{"spec":{"display_name":"prod east","environment":{"id":"env-abc"}}}`,
			wantShown: []string{"`display_name` = prod east", "`environment` = env-abc", "peering `p-123`"}},
		{name: "peering, typographic quotes and dotted names", user: netUser, text: `peering p-9 spec.environment.id=env-net spec.display_name=“west 2”`,
			wantOp: string(ccloud.UpdatePeering), wantBody: `{"spec":{"display_name":"west 2","environment":{"id":"env-net"}}}`},
		{name: "integration", user: opsUser, text: `integration i-123 display_name="alerts" target.kind=Slack target.webhook_url=` + secretWebhook,
			wantOp: string(ccloud.UpdateIntegration), wantBody: `{"display_name":"alerts","target":{"kind":"Slack","webhook_url":"` + secretWebhook + `"}}`,
			wantShown: []string{"`target.webhook_url` = [REDACTED]", "`target.kind` = Slack", "integration `i-123`"}},
		{name: "integration, escaped quote", user: opsUser, text: `integration i-7 description="say \"hi\""`,
			wantOp: string(ccloud.UpdateIntegration), wantBody: `{"description":"say \"hi\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.queued()
			msg := b.run(b.command(tc.user, tc.text))
			if msg.ResponseType != "ephemeral" {
				t.Errorf("response_type %q, want ephemeral", msg.ResponseType)
			}
			id := changeID(t, msg)
			for _, s := range tc.wantShown {
				if !strings.Contains(text(msg), jsonEscape(s)) {
					t.Errorf("answer does not show %q: %s", s, text(msg))
				}
			}
			if got := b.queued(); got != before+1 {
				t.Fatalf("queued %d, want %d", got, before+1)
			}
			rec, _, err := b.records.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Operation != tc.wantOp || rec.State != change.StateQueued {
				t.Errorf("record %s %s", rec.Operation, rec.State)
			}
			if want := map[string]string{opsUser: "ops", netUser: "net"}[tc.user] + " (slack T0TEAM/" + tc.user + ")"; rec.RequestedBy != want {
				t.Errorf("requested_by %q, want %q", rec.RequestedBy, want)
			}
			if body := b.payload(id); body != tc.wantBody {
				t.Errorf("queued body %s\nwant        %s", body, tc.wantBody)
			}
		})
	}
}

func jsonEscape(s string) string {
	data, _ := json.Marshal(s)
	return strings.Trim(string(data), `"`)
}

func TestStatusRetryHelp(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id := changeID(t, b.run(b.command(opsUser, `peering p-1 environment=env-abc`)))

	status := text(b.run(b.command(readUser, "status "+id)))
	if !strings.Contains(status, id) || !strings.Contains(status, "queued") {
		t.Errorf("status: %s", status)
	}
	if got := text(b.run(b.command(opsUser, "retry "+id))); !strings.Contains(got, "only a failed change") {
		t.Errorf("retry of a queued change: %s", got)
	}
	b.finish(id, change.StateFailed)
	if got := text(b.run(b.command(readUser, "status "+id))); !strings.Contains(got, "failed") || !strings.Contains(got, "Not Found") {
		t.Errorf("status of failed change: %s", got)
	}
	before := b.queued()
	retried := b.run(b.command(opsUser, "retry "+id))
	if !strings.Contains(text(retried), "Re-queued change") {
		t.Fatalf("retry: %s", text(retried))
	}
	rec, _, _ := b.records.Get(context.Background(), id)
	if rec.State != change.StateQueued || rec.Generation != 1 || b.queued() != before+1 {
		t.Errorf("after retry: state %s generation %d queued %d", rec.State, rec.Generation, b.queued())
	}
	for _, text0 := range []string{"help", "", "  "} {
		help := text(b.run(b.command(strangerUser+"X", text0)))
		if !strings.Contains(help, "not a Patchbay user") {
			t.Errorf("help for a stranger: %s", help)
		}
		help = text(b.run(b.command(readUser, text0)))
		for _, form := range []string{"/patchbay peering", "/patchbay integration", "/patchbay status", "/patchbay retry"} {
			if !strings.Contains(help, form) {
				t.Errorf("help %q lacks %q: %s", text0, form, help)
			}
		}
	}
}

func TestMalformedCommands(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	for _, tc := range []struct{ text, want, form string }{
		{`peering`, "id is missing", "environment=<env-id>"},
		{`peering p-1`, "nothing to change", "environment=<env-id>"},
		{`peering p-1 display_name="x"`, "`environment` is required", "environment=<env-id>"},
		{`peering p-1 environment=env-1 cloud=aws`, "`cloud` is immutable", "environment=<env-id>"},
		{`peering p-1 environment=env-1 colour=red`, "`colour` is not allowed", "environment=<env-id>"},
		{`peering p-1 environment=`, "`environment` must be at least 1 characters", "environment=<env-id>"},
		{`peering p-1 environment=e display_name="unclosed`, "not closed", "/patchbay help"},
		{`peering p-1 environment=e environment=f`, "given twice", "environment=<env-id>"},
		{`peering p/1 environment=e`, "not a valid peering id", "environment=<env-id>"},
		{`peering p-1 environment=e Display-Name=x`, "not a field name", "environment=<env-id>"},
		{`peering p-1 environment=e justaword`, "expected key=value", "environment=<env-id>"},
		{`peering p-1 environment=e environment.id=f`, "given twice", "environment=<env-id>"},
		{`integration i-1 display_name="` + strings.Repeat("n", 65) + `"`, "`display_name` must be at most 64", "target.kind=Slack"},
		{`integration i-1 target.kind=Slack`, "`target.webhook_url` is required", "target.kind=Slack"},
		{`integration i-1 target.kind=Slack target.webhook_url=not-a-url`, "`target.webhook_url` must be an absolute http", "target.kind=Slack"},
		{`integration i-1 target.kind=RoleEmail`, "cannot be updated", "target.kind=Slack"},
		{`integration i-1 target.kind=Pager target.url=https://x.test`, "must be one of Slack, Webhook, MsTeams", "target.kind=Slack"},
		{`integration i-1 target.kind=Webhook target.webhook_url=https://x.test/a`, "`target.webhook_url` is not allowed in a Webhook target", "target.kind=Slack"},
		{`integration i-1 target=x target.kind=Slack`, "cannot also have fields", "target.kind=Slack"},
		{`integration i-1 id=x`, "`id` is read-only", "target.kind=Slack"},
		{`status`, "exactly one change id", "/patchbay status <change-id>"},
		{`status chg_nope`, "not a change id", "/patchbay status <change-id>"},
		{`retry chg_a chg_b`, "exactly one change id", "/patchbay retry <change-id>"},
		{`delete p-1`, "unknown command `delete`", "/patchbay peering"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			before := b.queued()
			msg := b.run(b.command(opsUser, tc.text))
			got := text(msg)
			if msg.ResponseType != "ephemeral" {
				t.Errorf("response_type %q", msg.ResponseType)
			}
			if !strings.Contains(got, jsonEscape(tc.want)) {
				t.Errorf("answer lacks %q: %s", tc.want, got)
			}
			if !strings.Contains(got, jsonEscape(tc.form)) {
				t.Errorf("answer does not show the form %q: %s", tc.form, got)
			}
			for _, bad := range []string{"'/", "/spec", "/target", "pointer"} {
				if strings.Contains(got, bad) {
					t.Errorf("answer shows a JSON pointer (%q): %s", bad, got)
				}
			}
			if b.queued() != before {
				t.Error("a malformed command queued a change")
			}
		})
	}
}

func TestIdentityAndScope(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	for _, tc := range []struct{ name, user, text, want string }{
		{"unknown user", strangerUser, `peering p-1 environment=env-net`, "not a Patchbay user"},
		{"unknown team", "U0OPS", `peering p-1 environment=env-net`, ""}, // team replaced below
		{"operation beyond scope", netUser, `integration i-1 display_name=x`, "may not notifications.v1.integrations.update"},
		{"environment beyond scope", netUser, `peering p-1 environment=env-other`, "may not change peerings in that environment"},
		{"read-only caller", readUser, `peering p-1 environment=env-net`, "may not networking.v1.peerings.update"},
		{"read-only caller retries", readUser, `retry chg_aaaaaaaaaaaaaaaaaaaaaaaaaa`, "may not retry changes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.queued()
			c := b.command(tc.user, tc.text)
			want := tc.want
			if tc.name == "unknown team" {
				c.TeamID, want = "T0OTHER", "not a Patchbay user"
			}
			got := text(b.run(c))
			if !strings.Contains(got, jsonEscape(want)) {
				t.Errorf("answer lacks %q: %s", want, got)
			}
			if b.queued() != before {
				t.Error("a refused command queued a change")
			}
			if _, found, _ := b.replies.Find(context.Background(), change.Record{ID: "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa"}); found {
				t.Error("a refused command stored a reply target")
			}
		})
	}
}

func TestRequestVerification(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	c := b.command(opsUser, `peering p-1 environment=env-1`)
	now := time.Now()
	big := c.Form()
	big.Set("text", "peering p-1 environment=env-1 display_name="+strings.Repeat("x", 20<<10))
	for _, tc := range []struct {
		name string
		mod  func(*http.Request)
		ts   time.Time
		form map[string][]string
		want int
	}{
		{name: "no signature", want: 401, mod: func(r *http.Request) { r.Header.Del("X-Slack-Signature") }},
		{name: "no timestamp", want: 401, mod: func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") }},
		{name: "stale (6 minutes)", want: 401, ts: now.Add(-6 * time.Minute)},
		{name: "future (6 minutes)", want: 401, ts: now.Add(6 * time.Minute)},
		{name: "forged with another secret", want: 401, mod: func(r *http.Request) {
			r.Header.Set("X-Slack-Signature", b.resign(r, "not-the-signing-secret-0000000000"))
		}},
		{name: "tampered body", want: 401, mod: func(r *http.Request) {
			r.Body = ioNopCloser(strings.NewReader(strings.Replace(readAll(t, r.Body), "env-1", "env-2", 1)))
		}},
		{name: "timestamp changed after signing", want: 401, mod: func(r *http.Request) {
			r.Header.Set("X-Slack-Request-Timestamp", r.Header.Get("X-Slack-Request-Timestamp")+"1")
		}},
		{name: "v1 signature", want: 401, mod: func(r *http.Request) {
			r.Header.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(r.Header.Get("X-Slack-Signature"), "v0="))
		}},
		{name: "oversized body", want: 413, form: big},
		{name: "oversized, no Content-Length", want: 413, form: big, mod: func(r *http.Request) { r.ContentLength = -1 }},
		{name: "JSON instead of a form", want: 415, mod: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := tc.ts
			if ts.IsZero() {
				ts = now
			}
			form := tc.form
			if form == nil {
				form = c.Form()
			}
			req, err := b.signer.Request("http://patchbay.test/slack/commands", form, ts)
			if err != nil {
				t.Fatal(err)
			}
			if tc.mod != nil {
				tc.mod(req)
			}
			before := b.queued()
			for _, serve := range []func(http.ResponseWriter, *http.Request){b.handler.ServeCommand, b.handler.ServeInteraction} {
				req2 := req.Clone(context.Background())
				body := readAll(t, req.Body)
				req.Body, req2.Body = ioNopCloser(strings.NewReader(body)), ioNopCloser(strings.NewReader(body))
				rec := recorder()
				serve(rec, req2)
				if rec.Code != tc.want {
					t.Errorf("status %d, want %d", rec.Code, tc.want)
				}
			}
			if b.queued() != before {
				t.Error("a refused request queued a change")
			}
		})
	}
	// The unmodified request passes.
	if got := text(b.run(c)); !strings.Contains(got, "Queued change") {
		t.Fatalf("valid request: %s", got)
	}
}

func TestSlackRetryMakesOneChange(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	c := b.command(opsUser, `peering p-1 environment=env-1 display_name="one"`)
	before := b.queued()
	first := changeID(t, b.run(c))
	// Slack's retries: new timestamp and signature, X-Slack-Retry-Num set,
	// same body. Then the very same signed request replayed.
	for i, hdr := range []map[string]string{
		{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
		{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"},
	} {
		msg := decodeAnswer(t, b.send(b.handler.ServeCommand, c.Form(), time.Now().Add(time.Duration(i+1)*time.Second), hdr))
		if id := changeID(t, msg); id != first {
			t.Fatalf("retry %d made change %s, want %s", i+1, id, first)
		}
		if !strings.Contains(text(msg), "Already queued") {
			t.Errorf("retry answer: %s", text(msg))
		}
	}
	req, _ := b.signer.Request("http://patchbay.test/slack/commands", c.Form(), time.Now())
	replay := req.Clone(context.Background())
	body := readAll(t, req.Body)
	req.Body, replay.Body = ioNopCloser(strings.NewReader(body)), ioNopCloser(strings.NewReader(body))
	for _, r := range []*http.Request{req, replay} {
		rec := recorder()
		b.handler.ServeCommand(rec, r)
		if id := changeID(t, decodeAnswer(t, rec)); id != first {
			t.Fatalf("replayed request made change %s, want %s", id, first)
		}
	}
	if got := b.queued(); got != before+1 {
		t.Errorf("queued %d changes, want 1", got-before)
	}
	// The same text typed again is a new command (new trigger_id): a new change.
	again := c
	again.TriggerID += "-again"
	if id := changeID(t, b.run(again)); id == first {
		t.Error("a new command with the same text replayed the first change")
	}
	if n := b.accepted.Load(); n != 2 {
		t.Errorf("%d changes counted as accepted, want 2", n)
	}
}

// TestAnswerUnderBacklog: with a backlog queued and no worker running at
// all, a command is answered (queued, with its id) well within Slack's
// 3 seconds: the answer never waits for the queue to drain.
func TestAnswerUnderBacklog(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ctx := context.Background()
	const backlog = 300
	for i := range backlog {
		id := "p-" + string(rune('a'+i%26))
		path, _ := ccloud.UpdatePeering.Path(id)
		if _, _, err := b.queue.Enqueue(ctx, queue.Request{Operation: string(ccloud.UpdatePeering),
			Resource: change.Resource{Kind: "Peering", ID: id, Path: path}, Body: []byte(`{"spec":{"environment":{"id":"e"}}}`),
			RequestedBy: "load", IdempotencyKey: "backlog-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	msg := b.run(b.command(opsUser, `peering p-a environment=env-1 display_name="behind the backlog"`))
	if answered := time.Now(); answered.After(deadline) {
		t.Fatalf("answered %s after the deadline", answered.Sub(deadline))
	}
	id := changeID(t, msg)
	rec, _, err := b.records.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != change.StateQueued || len(rec.Attempts) != 0 {
		t.Errorf("change %s %s with %d attempts: it should not have run", id, rec.State, len(rec.Attempts))
	}
	if got := b.queued(); got != backlog+1 {
		t.Errorf("queue holds %d, want the backlog and the command (%d)", got, backlog+1)
	}
}

// TestQueueUnavailable: with NATS gone, a command is still answered (200,
// ephemeral) within the answer budget, saying nothing was queued.
func TestQueueUnavailable(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.stopNATS()
	for _, text0 := range []string{`peering p-1 environment=env-1`, `status chg_aaaaaaaaaaaaaaaaaaaaaaaaaa`} {
		msg := b.run(b.command(opsUser, text0))
		if got := text(msg); !strings.Contains(got, "unavailable") || msg.ResponseType != "ephemeral" {
			t.Errorf("%s with NATS down: %s", text0, got)
		}
	}
}
