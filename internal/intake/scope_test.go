package intake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
)

// Tokens of the scoped test callers.
const (
	peeringToken = "peering-token-0123456789abcdef"
	readerToken  = "reader-token-0123456789abcdef"
	retryToken   = "retry-token-0123456789abcdef"
)

// scopedCallers are jira (API_TOKENS, full access) and three scoped callers.
func scopedCallers(t *testing.T) *intake.Callers {
	t.Helper()
	tokens, err := intake.ParseCallers("jira=" + jiraToken)
	if err != nil {
		t.Fatal(err)
	}
	file, err := intake.ParseCallersFile([]byte(`{"callers":[
		{"name":"peering","token_sha256":"`+tokenHash(peeringToken)+`","operations":["networking.v1.peerings.update","changes.read"],
		 "environments":["env-1"],"resources":["p-1","p-2"]},
		{"name":"reader","token_sha256":"`+tokenHash(readerToken)+`","operations":["changes.read"],"resources":["p-1"]},
		{"name":"retrier","token_sha256":"`+tokenHash(retryToken)+`","operations":["changes.retry","networking.v1.peerings.update"],"environments":["env-1"]}
	]}`), "", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tokens.Merge(file)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// failedChange stores a failed peering change of resource id whose kept
// body names environment env, as the worker would have left it.
func failedChange(t *testing.T, b *bundle, id, env string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now().UTC()
	rec := change.NewRecord(change.Message{ID: change.NewID(), Operation: string(intake.PermUpdatePeering),
		Resource: change.Resource{Kind: "Peering", ID: id, Path: "/networking/v1/peerings/" + id}, RequestedBy: "jira", AcceptedAt: now})
	rec.State = change.StateFailed
	if _, err := b.records.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := b.records.SavePayload(ctx, rec.ID, []byte(`{"spec":{"environment":{"id":"`+env+`"}}}`)); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func TestCallerScopes(t *testing.T) {
	t.Parallel()
	b := newBundleWith(t, intake.Config{}, scopedCallers(t), nil)
	send := func(method, target, token, body string) *httptest.ResponseRecorder {
		var req *http.Request
		if body == "" {
			req = httptest.NewRequest(method, target, nil)
		} else {
			req = httptest.NewRequest(method, target, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		return b.do(t, req)
	}
	// A queued change of p-1 and one of p-9, to read.
	var p1, p9 change.Record
	for _, c := range []struct {
		path string
		rec  *change.Record
	}{{"/networking/v1/peerings/p-1", &p1}, {"/networking/v1/peerings/p-9", &p9}} {
		rec := send(http.MethodPatch, c.path, jiraToken, `{"spec":{"environment":{"id":"env-2"}}}`)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("PATCH %s = %d %s", c.path, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), c.rec); err != nil {
			t.Fatal(err)
		}
	}
	wrongEnv := failedChange(t, b, "p-1", "env-2")
	rightEnv := failedChange(t, b, "p-3", "env-1")

	env1 := `{"spec":{"environment":{"id":"env-1"}}}`
	tests := []struct {
		name                string
		method, target, tok string
		body                string
		want                int
		wantPointer         string
		wantParam           string
		wantDetail          string
	}{
		{name: "in scope", method: "PATCH", target: "/networking/v1/peerings/p-1", tok: peeringToken, body: env1, want: 202},
		{name: "other environment", method: "PATCH", target: "/networking/v1/peerings/p-2", tok: peeringToken,
			body: `{"spec":{"environment":{"id":"env-2"}}}`, want: 403, wantPointer: "/spec/environment/id", wantDetail: `caller "peering" is not allowed to change peerings in this environment`},
		{name: "other resource", method: "PATCH", target: "/networking/v1/peerings/p-9", tok: peeringToken, body: env1,
			want: 403, wantParam: "id", wantDetail: `caller "peering" is not allowed to change Peering "p-9"`},
		{name: "other operation", method: "PATCH", target: "/notifications/v1/integrations/i-1", tok: peeringToken, body: `{}`,
			want: 403, wantDetail: `caller "peering" is not allowed to notifications.v1.integrations.update`},
		{name: "scope is checked before the body", method: "PATCH", target: "/notifications/v1/integrations/i-1", tok: readerToken, body: `{`,
			want: 403},
		{name: "reader cannot change", method: "PATCH", target: "/networking/v1/peerings/p-1", tok: readerToken, body: env1,
			want: 403, wantDetail: `caller "reader" is not allowed to networking.v1.peerings.update`},
		{name: "reader reads its resource", method: "GET", target: "/v1/changes/" + p1.ID, tok: readerToken, want: 200},
		{name: "reader cannot read another resource", method: "GET", target: "/v1/changes/" + p9.ID, tok: readerToken, want: 403, wantParam: "id"},
		{name: "reader cannot retry", method: "POST", target: "/v1/changes/" + wrongEnv + "/retry", tok: readerToken,
			want: 403, wantDetail: `caller "reader" is not allowed to changes.retry`},
		{name: "retrier cannot read", method: "GET", target: "/v1/changes/" + p1.ID, tok: retryToken, want: 403},
		{name: "retrier, failed change in another environment", method: "POST", target: "/v1/changes/" + wrongEnv + "/retry", tok: retryToken,
			want: 403, wantPointer: "/spec/environment/id"},
		{name: "retrier, unknown change", method: "POST", target: "/v1/changes/" + change.NewID() + "/retry", tok: retryToken, want: 404},
		{name: "retrier, queued change is 409", method: "POST", target: "/v1/changes/" + p9.ID + "/retry", tok: retryToken, want: 409},
		{name: "retrier, failed change in its environment", method: "POST", target: "/v1/changes/" + rightEnv + "/retry", tok: retryToken, want: 202},
		{name: "API_TOKENS caller may do anything", method: "PATCH", target: "/notifications/v1/integrations/i-1", tok: jiraToken, body: `{}`, want: 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(tt.method, tt.target, tt.tok, tt.body)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want < 400 {
				return
			}
			e := envelope(t, rec)
			if tt.want == 403 && e.Code != "forbidden" {
				t.Errorf("code = %q, want forbidden", e.Code)
			}
			if tt.wantPointer != "" && (e.Source == nil || e.Source.Pointer != tt.wantPointer) {
				t.Errorf("source = %+v, want pointer %s", e.Source, tt.wantPointer)
			}
			if tt.wantParam != "" && (e.Source == nil || e.Source.Parameter != tt.wantParam) {
				t.Errorf("source = %+v, want parameter %s", e.Source, tt.wantParam)
			}
			if tt.wantDetail != "" && e.Detail != tt.wantDetail {
				t.Errorf("detail = %q, want %q", e.Detail, tt.wantDetail)
			}
		})
	}
	// p-1 and p-9 by jira, p-1 by peering, i-1 by jira, and the retry.
	if n := changesInQueue(t, b.js); n != 5 {
		t.Fatalf("queue holds %d changes, want 5", n)
	}
}
