package intake_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/webhooksig"
)

const otherHookSecret = "other-hook-secret-0123456789"

// signedCallers are jira (bearer) and two signers: github (peerings in
// env-1) and atlassian (anything).
func signedCallers(t *testing.T) *intake.Callers {
	t.Helper()
	env := envOf(map[string]string{"GITHUB_SECRET": hookSecret, "ATLASSIAN_SECRET": otherHookSecret})
	cs, err := intake.ParseCallersFile([]byte(`{"callers":[
		{"name":"jira","token_sha256":"`+tokenHash(jiraToken)+`","operations":["networking.v1.peerings.update","changes.read"]},
		{"name":"github","webhook_secret_env":"GITHUB_SECRET","operations":["networking.v1.peerings.update"],"environments":["env-1"]},
		{"name":"atlassian","webhook_secret_env":"ATLASSIAN_SECRET","operations":["networking.v1.peerings.update","notifications.v1.integrations.update"]}
	]}`), "", env)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// signedRequest is a PATCH of peering p-1 signed with secret.
type signedRequest struct {
	secret    string
	body      string
	signBody  string // signed instead of body when set (a forgery)
	timestamp string
	signTS    string // timestamp signed instead of timestamp when set
	headers   map[string]string
	noSign    bool
}

func (s signedRequest) build() *http.Request {
	body := s.body
	if body == "" {
		body = `{"spec":{"environment":{"id":"env-1"}}}`
	}
	req := httptest.NewRequest(http.MethodPatch, "/networking/v1/peerings/p-1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	signed, ts := body, s.timestamp
	if s.signBody != "" {
		signed = s.signBody
	}
	if s.signTS != "" {
		ts = s.signTS
	}
	if !s.noSign {
		req.Header.Set(webhooksig.HeaderSignature, webhooksig.Sign([]byte(s.secret), webhooksig.Content([]byte(signed), ts)))
	}
	if s.timestamp != "" {
		req.Header.Set(webhooksig.HeaderTimestamp, s.timestamp)
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	return req
}

func TestSignedRequests(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := newBundleWith(t, intake.Config{}, signedCallers(t), clock.Now)
	now := strconv.FormatInt(clock.Now().Unix(), 10)
	ago := func(d time.Duration) string { return strconv.FormatInt(clock.Now().Add(-d).Unix(), 10) }
	gh := func(id string) map[string]string { return map[string]string{intake.HeaderGitHubDelivery: id} }

	tests := []struct {
		name     string
		req      func() *http.Request
		want     int
		wantCode string
		wantBy   string
	}{
		{name: "github delivery", req: signedRequest{secret: hookSecret, headers: gh("d-1")}.build, want: 202, wantBy: "github"},
		{name: "github delivery replayed", req: signedRequest{secret: hookSecret, headers: gh("d-1")}.build, want: 409, wantCode: "delivery_replayed"},
		{name: "atlassian delivery", req: signedRequest{secret: otherHookSecret,
			headers: map[string]string{intake.HeaderAtlassianDelivery: "a-1"}}.build, want: 202, wantBy: "atlassian"},
		{name: "atlassian delivery replayed", req: signedRequest{secret: otherHookSecret,
			headers: map[string]string{intake.HeaderAtlassianDelivery: "a-1"}}.build, want: 409, wantCode: "delivery_replayed"},
		{name: "same delivery id from another caller is not a replay", req: signedRequest{secret: otherHookSecret, headers: gh("d-1")}.build,
			want: 202, wantBy: "atlassian"},
		{name: "timestamped", req: signedRequest{secret: hookSecret, timestamp: now}.build, want: 202, wantBy: "github"},
		{name: "timestamped replayed", req: signedRequest{secret: hookSecret, timestamp: now}.build, want: 409, wantCode: "delivery_replayed"},
		{name: "timestamp 4m old", req: signedRequest{secret: hookSecret, timestamp: ago(4 * time.Minute)}.build, want: 202},
		{name: "timestamp 6m old", req: signedRequest{secret: hookSecret, timestamp: ago(6 * time.Minute)}.build, want: 401, wantCode: "signature_expired"},
		{name: "timestamp 6m ahead", req: signedRequest{secret: hookSecret, timestamp: ago(-6 * time.Minute)}.build, want: 401, wantCode: "signature_expired"},
		{name: "timestamp not unix seconds", req: signedRequest{secret: hookSecret, timestamp: "2023-11-14T22:13:20Z"}.build, want: 401, wantCode: "invalid_signature"},
		{name: "timestamp changed after signing", req: signedRequest{secret: hookSecret, timestamp: now, signTS: ago(time.Minute)}.build,
			want: 401, wantCode: "invalid_signature"},
		{name: "timestamp not signed", req: signedRequest{secret: hookSecret, timestamp: ago(time.Second), signTS: "", headers: gh("d-ts")}.build,
			want: 202},
		{name: "no replay protection", req: signedRequest{secret: hookSecret}.build, want: 401, wantCode: "replay_protection_required"},
		{name: "unknown secret", req: signedRequest{secret: "unknown-secret-0123456789", headers: gh("d-2")}.build, want: 401, wantCode: "invalid_signature"},
		{name: "body changed after signing", req: signedRequest{secret: hookSecret, signBody: `{"spec":{"environment":{"id":"env-9"}}}`, headers: gh("d-3")}.build,
			want: 401, wantCode: "invalid_signature"},
		{name: "malformed signature", req: func() *http.Request {
			r := signedRequest{secret: hookSecret, headers: gh("d-4")}.build()
			r.Header.Set(webhooksig.HeaderSignature, "sha1=abc")
			return r
		}, want: 401, wantCode: "invalid_signature"},
		{name: "two signatures", req: func() *http.Request {
			r := signedRequest{secret: hookSecret, headers: gh("d-5")}.build()
			r.Header.Add(webhooksig.HeaderSignature, r.Header.Get(webhooksig.HeaderSignature))
			return r
		}, want: 401, wantCode: "invalid_signature"},
		{name: "signature and bearer", req: func() *http.Request {
			r := signedRequest{secret: hookSecret, headers: gh("d-6")}.build()
			r.Header.Set("Authorization", "Bearer "+jiraToken)
			return r
		}, want: 401, wantCode: "user_unauthenticated"},
		{name: "both delivery headers", req: signedRequest{secret: hookSecret,
			headers: map[string]string{intake.HeaderGitHubDelivery: "x", intake.HeaderAtlassianDelivery: "y"}}.build, want: 400, wantCode: "invalid_delivery_id"},
		{name: "delivery id too long", req: signedRequest{secret: hookSecret, headers: gh(strings.Repeat("d", 129))}.build, want: 400, wantCode: "invalid_delivery_id"},
		{name: "signed but out of scope", req: signedRequest{secret: hookSecret, body: `{"spec":{"environment":{"id":"env-2"}}}`, headers: gh("d-7")}.build,
			want: 403, wantCode: "forbidden"},
		{name: "signed out-of-scope delivery was not remembered", req: signedRequest{secret: otherHookSecret,
			body: `{"spec":{"environment":{"id":"env-2"}}}`, headers: gh("d-7")}.build, want: 202},
		{name: "signed invalid body", req: signedRequest{secret: hookSecret, body: `{"spec":{}}`, headers: gh("d-8")}.build, want: 422},
		{name: "signed, wrong content type", req: func() *http.Request {
			r := signedRequest{secret: hookSecret, headers: gh("d-9")}.build()
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, want: 415},
		{name: "signed GET is refused", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/v1/changes/"+change.NewID(), nil)
			r.Header.Set(webhooksig.HeaderSignature, webhooksig.Sign([]byte(hookSecret), nil))
			r.Header.Set(webhooksig.HeaderTimestamp, now)
			return r
		}, want: 401, wantCode: "user_unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := b.do(t, tt.req())
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusAccepted {
				var r change.Record
				if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				if tt.wantBy != "" && r.RequestedBy != tt.wantBy {
					t.Fatalf("requested_by = %q, want %q", r.RequestedBy, tt.wantBy)
				}
				return
			}
			if e := envelope(t, rec); tt.wantCode != "" && e.Code != tt.wantCode {
				t.Fatalf("code = %q, want %q: %s", e.Code, tt.wantCode, rec.Body)
			}
			if strings.Contains(rec.Body.String(), hookSecret) {
				t.Fatalf("response leaks the secret: %s", rec.Body)
			}
		})
	}
}

func TestNewRefusesSignersWithoutDeliveries(t *testing.T) {
	t.Parallel()
	deps := newBundle(t, intake.Config{}).deps
	deps.Callers = signedCallers(t)
	deps.Deliveries = nil
	if srv, err := intake.New(intake.Config{}, deps); err == nil || srv != nil {
		t.Fatalf("New with signers and no deliveries store = %v, %v; want an error", srv, err)
	}
}

// TestSignedDeliveryIsItsIdempotencyKey: a signed request without an
// Idempotency-Key is keyed by its delivery id, so that a redelivery after
// a 503 (which forgets the delivery) continues the same change.
func TestSignedDeliveryIsItsIdempotencyKey(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := newBundleWith(t, intake.Config{}, signedCallers(t), clock.Now)
	tests := []struct {
		name    string
		headers map[string]string
		wantKey string
	}{
		{name: "delivery id only", headers: map[string]string{intake.HeaderGitHubDelivery: "d-key"}, wantKey: "delivery:d-key"},
		{name: "explicit key wins", headers: map[string]string{intake.HeaderGitHubDelivery: "d-key2", "Idempotency-Key": "mine"}, wantKey: "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := b.do(t, signedRequest{secret: hookSecret, headers: tt.headers}.build())
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if r := decodeRecord(t, rec); r.IdempotencyKey != tt.wantKey {
				t.Fatalf("idempotency key %q, want %q", r.IdempotencyKey, tt.wantKey)
			}
		})
	}
}
