package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/webhooksig"
)

// Credentials of the scoped callers of the hostile-input stack.
const (
	peeringToken   = "peering-token-0123456789abcdef"
	readerToken    = "reader-token-0123456789abcdef"
	limitedToken   = "limited-token-0123456789abcdef"
	githubSecret   = "github-hmac-secret-0123456789"
	timedSecret    = "timed-hmac-secret-0123456789"
	timedSecretEnv = "PATCHBAY_TEST_TIMED_SECRET"
)

// sha256Hex is what an operator writes as token_sha256.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// securedStack is a stack whose api has, besides API_TOKENS (jira,
// slackbot: full access), a callers file with scoped and signing callers,
// and trusts 127.0.0.1 as a proxy.
func securedStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "github.secret"), []byte(githubSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := `{"callers":[
	  {"name":"peering","token_sha256":"` + sha256Hex(peeringToken) + `",
	   "operations":["networking.v1.peerings.update","changes.read"],"environments":["env-1"],"resources":["p-1","p-2"]},
	  {"name":"reader","token_sha256":"` + sha256Hex(readerToken) + `","operations":["changes.read"]},
	  {"name":"limited","token_sha256":"` + sha256Hex(limitedToken) + `","operations":["changes.read"],"rate_limit":0.001,"rate_burst":1},
	  {"name":"github","webhook_secret_file":"github.secret","operations":["networking.v1.peerings.update"],"environments":["env-1"]},
	  {"name":"timed","webhook_secret_env":"` + timedSecretEnv + `",
	   "operations":["networking.v1.peerings.update","notifications.v1.integrations.update"]}
	]}`
	path := filepath.Join(dir, "callers.json")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return newStack(t, ccloudsim.Options{}, func(c *app.APIConfig) {
		c.CallersFile = path
		c.TrustedProxies = "127.0.0.1/32"
		c.LookupEnv = func(k string) (string, bool) {
			if k == timedSecretEnv {
				return timedSecret, true
			}
			return "", false
		}
	})
}

// hostileCase is one request of the hostile-input table.
type hostileCase struct {
	name    string
	method  string
	path    string
	header  http.Header
	body    string
	want    int
	code    string // expected envelope code, "" for any
	pointer string // expected source.pointer, "" for any
}

// hdr builds a header from name/value pairs; a name may repeat.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[http.CanonicalHeaderKey(kv[i])] = append(h[http.CanonicalHeaderKey(kv[i])], kv[i+1])
	}
	return h
}

// bearerJSON is the usual header of a change request by caller token.
func bearerJSON(token string, kv ...string) http.Header {
	return hdr(append([]string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}, kv...)...)
}

// signedJSON is the header of a change request signed with secret; ts is
// the X-Patchbay-Timestamp ("" for none) and kv more headers.
func signedJSON(secret, body, ts string, kv ...string) http.Header {
	h := hdr(append([]string{"Content-Type", "application/json"}, kv...)...)
	h.Set(webhooksig.HeaderSignature, webhooksig.Sign([]byte(secret), webhooksig.Content([]byte(body), ts)))
	if ts != "" {
		h.Set(webhooksig.HeaderTimestamp, ts)
	}
	return h
}

// send sends a request with an arbitrary header (repeated values kept).
func (st *stack) send(method, path string, h http.Header, body string) (*http.Response, []byte) {
	st.t.Helper()
	req, err := http.NewRequest(method, st.apiURL+path, strings.NewReader(body))
	if err != nil {
		st.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		st.t.Fatal(err)
	}
	return resp, data
}

func TestHostileInput(t *testing.T) {
	st := securedStack(t)
	// A worker runs throughout, so anything wrongly queued would reach the
	// upstream.
	st.startWorker(st.workerConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Deliveries received earlier (before this test), to be replayed.
	deliveries, err := replay.NewDeliveries(ctx, st.js)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ caller, id string }{{"github", "gh-seen-1"}, {"timed", "atl-seen-1"}} {
		if _, err := deliveries.Remember(ctx, d.caller, d.id); err != nil {
			t.Fatal(err)
		}
	}

	const (
		peer  = "/networking/v1/peerings/p-1"
		integ = "/notifications/v1/integrations/i-1"
	)
	ok := `{"spec":{"display_name":"x","environment":{"id":"env-1"}}}`
	now := time.Now()
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	deep := `{"spec":{"display_name":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,"environment":{"id":"env-1"}}}`
	deeper := `{"spec":{"display_name":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `,"environment":{"id":"env-1"}}}`
	unknownChange := "/v1/changes/" + change.NewID()

	cases := []hostileCase{
		// Malformed and hostile JSON.
		{name: "malformed JSON", method: "PATCH", path: peer, header: bearerJSON(testToken), body: `{"spec":`, want: 400, code: "malformed_json"},
		{name: "empty body", method: "PATCH", path: peer, header: bearerJSON(testToken), body: ``, want: 400, code: "malformed_json"},
		{name: "nesting 41 deep", method: "PATCH", path: peer, header: bearerJSON(testToken), body: deep, want: 400, code: "too_deep"},
		{name: "nesting 20000 deep", method: "PATCH", path: peer, header: bearerJSON(testToken), body: deeper, want: 400, code: "too_deep"},
		{name: "huge exponent", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"display_name":1e999999999,"environment":{"id":"env-1"}}}`, want: 422, code: "invalid_type", pointer: "/spec/display_name"},
		{name: "huge integer", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"environment":{"id":` + strings.Repeat("9", 5000) + `}}}`, want: 422, code: "invalid_type", pointer: "/spec/environment/id"},
		{name: "invalid UTF-8", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: "{\"spec\":{\"display_name\":\"\xff\xfe\",\"environment\":{\"id\":\"env-1\"}}}", want: 400, code: "invalid_utf8"},
		{name: "UTF-8 BOM", method: "PATCH", path: peer, header: bearerJSON(testToken), body: "\xef\xbb\xbf" + ok, want: 400, code: "malformed_json"},
		{name: "duplicate key", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"environment":{"id":"env-1"},"environment":{"id":"env-9"}}}`, want: 400, code: "duplicate_key"},
		{name: "duplicate key spelled with an escape", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"environment":{"id":"env-1"}},"sp\u0065c":{"environment":{"id":"env-9"}}}`, want: 400, code: "duplicate_key"},
		{name: "trailing data", method: "PATCH", path: peer, header: bearerJSON(testToken), body: ok + `{}`, want: 400, code: "trailing_data"},
		{name: "null body", method: "PATCH", path: peer, header: bearerJSON(testToken), body: `null`, want: 400, code: "not_an_object"},
		{name: "array body", method: "PATCH", path: peer, header: bearerJSON(testToken), body: `[` + ok + `]`, want: 400, code: "not_an_object"},
		{name: "null spec", method: "PATCH", path: peer, header: bearerJSON(testToken), body: `{"spec":null}`, want: 422, code: "invalid_type", pointer: "/spec"},
		{name: "null environment id", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"environment":{"id":null}}}`, want: 422, code: "invalid_type", pointer: "/spec/environment/id"},
		{name: "array where the spec object belongs", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":[{"environment":{"id":"env-1"}}]}`, want: 422, code: "invalid_type", pointer: "/spec"},
		{name: "array where the target object belongs", method: "PATCH", path: integ, header: bearerJSON(testToken),
			body: `{"target":[{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/T/B/X"}]}`, want: 422, code: "invalid_type", pointer: "/target"},
		{name: "javascript: webhook URL", method: "PATCH", path: integ, header: bearerJSON(testToken),
			body: `{"target":{"kind":"Slack","webhook_url":"javascript:alert(1)"}}`, want: 422, code: "invalid_url", pointer: "/target/webhook_url"},
		{name: "relative webhook URL", method: "PATCH", path: integ, header: bearerJSON(testToken),
			body: `{"target":{"kind":"Webhook","url":"//evil.example/x"}}`, want: 422, code: "invalid_url", pointer: "/target/url"},
		{name: "immutable cloud", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"environment":{"id":"env-1"},"cloud":{"kind":"AwsPeering"}}}`, want: 422, code: "immutable_field", pointer: "/spec/cloud"},
		{name: "body over the limit", method: "PATCH", path: peer, header: bearerJSON(testToken),
			body: `{"spec":{"display_name":"` + strings.Repeat("a", 70<<10) + `","environment":{"id":"env-1"}}}`, want: 413, code: "body_too_large"},

		// Path tricks.
		{name: "encoded slashes in the id", method: "PATCH", path: "/networking/v1/peerings/p-1%2F..%2F..%2Fiam%2Fv2%2Fapi-keys",
			header: bearerJSON(testToken), body: ok, want: 422, code: "invalid_id"},
		{name: "encoded dot segment id", method: "PATCH", path: "/networking/v1/peerings/%2e%2e", header: bearerJSON(testToken), body: ok, want: 422, code: "invalid_id"},
		{name: "dot segments", method: "PATCH", path: "/networking/v1/peerings/../../iam/v2/api-keys/k-1", header: bearerJSON(testToken), body: ok,
			want: 422, code: "invalid_id"},
		{name: "id of 300 characters", method: "PATCH", path: "/networking/v1/peerings/" + strings.Repeat("p", 300), header: bearerJSON(testToken), body: ok,
			want: 422, code: "invalid_id"},
		{name: "id of 8000 characters", method: "PATCH", path: "/networking/v1/peerings/" + strings.Repeat("p", 8000), header: bearerJSON(testToken), body: ok,
			want: 422, code: "invalid_id"},
		{name: "id with a semicolon", method: "PATCH", path: "/networking/v1/peerings/p-1;x=1", header: bearerJSON(testToken), body: ok, want: 422, code: "invalid_id"},
		{name: "non-ASCII id", method: "PATCH", path: "/networking/v1/peerings/p-%C3%A9", header: bearerJSON(testToken), body: ok, want: 422, code: "invalid_id"},
		{name: "trailing slash", method: "PATCH", path: peer + "/", header: bearerJSON(testToken), body: ok, want: 422, code: "invalid_id"},
		{name: "double slash", method: "PATCH", path: "//networking/v1/peerings/p-1", header: bearerJSON(testToken), body: ok, want: 404, code: "not_found"},
		{name: "unknown upstream path", method: "PATCH", path: "/iam/v2/api-keys/k-1", header: bearerJSON(testToken), body: ok, want: 404, code: "not_found"},
		{name: "change id with a wildcard", method: "GET", path: "/v1/changes/chg_%2A", header: hdr("Authorization", "Bearer "+testToken), want: 404, code: "change_not_found"},

		// Header tricks.
		{name: "two Authorization headers", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken, "Authorization", "Bearer wrong-token-0123456789", "Content-Type", "application/json"),
			body:   ok, want: 401, code: "user_unauthenticated"},
		{name: "lower-case bearer with a wrong token", method: "PATCH", path: peer,
			header: hdr("Authorization", "bearer wrong-token-0123456789", "Content-Type", "application/json"), body: ok, want: 401, code: "user_unauthenticated"},
		{name: "bearer without a token", method: "PATCH", path: peer, header: hdr("Authorization", "Bearer", "Content-Type", "application/json"),
			body: ok, want: 401, code: "user_unauthenticated"},
		{name: "token with trailing garbage", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken+" x", "Content-Type", "application/json"), body: ok, want: 401, code: "user_unauthenticated"},
		{name: "basic auth with the token", method: "PATCH", path: peer,
			header: hdr("Authorization", "Basic amlyYTp0ZXN0LXRva2VuLTAxMjM0NTY3ODlhYmNkZWY=", "Content-Type", "application/json"), body: ok, want: 401},
		{name: "Content-Type with a utf-16 charset", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken, "Content-Type", "application/json; charset=utf-16"), body: ok, want: 415},
		{name: "Content-Type list", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken, "Content-Type", "application/json, text/plain"), body: ok, want: 415},
		{name: "two Content-Type headers", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken, "Content-Type", "application/json", "Content-Type", "text/plain"), body: ok, want: 415},
		{name: "form Content-Type", method: "PATCH", path: peer,
			header: hdr("Authorization", "Bearer "+testToken, "Content-Type", "application/x-www-form-urlencoded"), body: "spec=x", want: 415},
		{name: "two Idempotency-Keys", method: "PATCH", path: peer, header: bearerJSON(testToken, "Idempotency-Key", "a", "Idempotency-Key", "b"),
			body: ok, want: 400, code: "invalid_idempotency_key"},
		{name: "reason over 512 characters", method: "PATCH", path: peer, header: bearerJSON(testToken, "X-Patchbay-Reason", strings.Repeat("r", 513)),
			body: ok, want: 400, code: "invalid_header"},
		{name: "reason with a control character", method: "PATCH", path: peer, header: bearerJSON(testToken, "X-Patchbay-Reason", "a\tb"),
			body: ok, want: 400, code: "invalid_header"},
		{name: "ticket over 128 characters", method: "PATCH", path: peer, header: bearerJSON(testToken, "X-Patchbay-Ticket", strings.Repeat("t", 129)),
			body: ok, want: 400, code: "invalid_header"},

		// Wrong methods.
		{name: "DELETE a peering", method: "DELETE", path: peer, header: hdr("Authorization", "Bearer "+testToken), want: 405, code: "method_not_allowed"},
		{name: "PUT a peering", method: "PUT", path: peer, header: bearerJSON(testToken), body: ok, want: 405, code: "method_not_allowed"},
		{name: "POST an integration", method: "POST", path: integ, header: bearerJSON(testToken), body: `{}`, want: 405, code: "method_not_allowed"},
		{name: "PATCH a change", method: "PATCH", path: unknownChange, header: bearerJSON(testToken), body: `{}`, want: 405, code: "method_not_allowed"},
		{name: "GET a retry", method: "GET", path: unknownChange + "/retry", header: hdr("Authorization", "Bearer "+testToken), want: 405, code: "method_not_allowed"},

		// Missing and forged signatures, replays, expired timestamps.
		{name: "no credentials at all", method: "PATCH", path: peer, header: hdr("Content-Type", "application/json"), body: ok, want: 401, code: "user_unauthenticated"},
		{name: "signature with an unknown secret", method: "PATCH", path: peer,
			header: signedJSON("forged-secret-0123456789", ok, "", "X-GitHub-Delivery", "gh-1"), body: ok, want: 401, code: "invalid_signature"},
		{name: "signature of another body", method: "PATCH", path: peer,
			header: signedJSON(githubSecret, `{"spec":{"environment":{"id":"env-1"}}}`, "", "X-GitHub-Delivery", "gh-2"), body: ok, want: 401, code: "invalid_signature"},
		{name: "sha1 signature", method: "PATCH", path: peer,
			header: hdr("Content-Type", "application/json", "X-Hub-Signature-256", "sha1=0123456789abcdef0123456789abcdef01234567", "X-GitHub-Delivery", "gh-3"),
			body:   ok, want: 401, code: "invalid_signature"},
		{name: "signature without replay protection", method: "PATCH", path: peer, header: signedJSON(githubSecret, ok, ""), body: ok,
			want: 401, code: "replay_protection_required"},
		{name: "signature and bearer token", method: "PATCH", path: peer,
			header: func() http.Header {
				h := signedJSON(githubSecret, ok, "", "X-GitHub-Delivery", "gh-4")
				h.Set("Authorization", "Bearer "+testToken)
				return h
			}(), body: ok, want: 401, code: "user_unauthenticated"},
		{name: "replayed GitHub delivery", method: "PATCH", path: peer, header: signedJSON(githubSecret, ok, "", "X-GitHub-Delivery", "gh-seen-1"),
			body: ok, want: 409, code: "delivery_replayed"},
		{name: "replayed Atlassian delivery", method: "PATCH", path: peer,
			header: signedJSON(timedSecret, ok, "", "X-Atlassian-Webhook-Identifier", "atl-seen-1"), body: ok, want: 409, code: "delivery_replayed"},
		{name: "expired timestamp", method: "PATCH", path: peer, header: signedJSON(timedSecret, ok, unix(-6*time.Minute)), body: ok,
			want: 401, code: "signature_expired"},
		{name: "timestamp from the future", method: "PATCH", path: peer, header: signedJSON(timedSecret, ok, unix(10*time.Minute)), body: ok,
			want: 401, code: "signature_expired"},
		{name: "timestamp changed after signing", method: "PATCH", path: peer,
			header: func() http.Header {
				h := signedJSON(timedSecret, ok, unix(-time.Minute))
				h.Set(webhooksig.HeaderTimestamp, unix(0))
				return h
			}(), body: ok, want: 401, code: "invalid_signature"},
		{name: "signed GET", method: "GET", path: unknownChange, header: signedJSON(timedSecret, "", unix(0)), want: 401, code: "user_unauthenticated"},

		// Over-scope callers.
		{name: "caller without the operation", method: "PATCH", path: peer, header: bearerJSON(readerToken), body: ok, want: 403, code: "forbidden"},
		{name: "caller on another kind", method: "PATCH", path: integ, header: bearerJSON(peeringToken), body: `{}`, want: 403, code: "forbidden"},
		{name: "caller on another resource", method: "PATCH", path: "/networking/v1/peerings/p-9", header: bearerJSON(peeringToken), body: ok,
			want: 403, code: "forbidden"},
		{name: "caller in another environment", method: "PATCH", path: peer, header: bearerJSON(peeringToken),
			body: `{"spec":{"environment":{"id":"env-2"}}}`, want: 403, code: "forbidden", pointer: "/spec/environment/id"},
		{name: "signed caller in another environment", method: "PATCH", path: peer,
			header: signedJSON(githubSecret, `{"spec":{"environment":{"id":"env-2"}}}`, "", "X-GitHub-Delivery", "gh-5"),
			body:   `{"spec":{"environment":{"id":"env-2"}}}`, want: 403, code: "forbidden", pointer: "/spec/environment/id"},
		{name: "caller without retry", method: "POST", path: unknownChange + "/retry", header: hdr("Authorization", "Bearer "+peeringToken), want: 403, code: "forbidden"},
		{name: "signing caller cannot read", method: "GET", path: unknownChange, header: hdr("Authorization", "Bearer "+githubSecret), want: 401},

		// Per-caller rate limit (burst 1, then 1 request per 1000 s).
		{name: "limited caller, first request", method: "GET", path: unknownChange, header: hdr("Authorization", "Bearer "+limitedToken), want: 404},
		{name: "limited caller, over its limit", method: "GET", path: unknownChange, header: hdr("Authorization", "Bearer "+limitedToken), want: 429, code: "rate_limited"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d hostile requests", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, data := st.send(c.method, c.path, c.header, c.body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, data)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			env, err := apierror.Decode(data)
			if err != nil || len(env.Errors) == 0 {
				t.Fatalf("not an error envelope: %s", data)
			}
			e := env.Errors[0]
			if e.Status != itoa(c.want) || e.Code == "" || e.Title == "" || e.Detail == "" {
				t.Fatalf("envelope entry incomplete: %+v", e)
			}
			if c.code != "" && e.Code != c.code {
				t.Fatalf("code %q, want %q: %s", e.Code, c.code, data)
			}
			if c.pointer != "" && (e.Source == nil || e.Source.Pointer != c.pointer) {
				t.Fatalf("source %+v, want pointer %s", e.Source, c.pointer)
			}
			if c.want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			for _, secret := range []string{testToken, peeringToken, githubSecret, timedSecret} {
				if strings.Contains(string(data), secret) {
					t.Fatalf("response leaks a secret: %s", data)
				}
			}
		})
	}

	// Nothing was ever queued, the upstream saw nothing, the process is healthy.
	if n := st.everQueued(); n != 0 {
		t.Fatalf("%d changes queued by hostile requests", n)
	}
	if n := len(st.sim.Requests()); n != 0 {
		t.Fatalf("%d hostile requests reached the upstream", n)
	}
	if resp, data := st.send(http.MethodGet, "/healthz", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d %s", resp.StatusCode, data)
	}
	if resp, data := st.send(http.MethodGet, "/readyz", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d %s", resp.StatusCode, data)
	}

	// Valid requests still get 202, with their audit trail, and only they
	// reach the upstream.
	valid := []struct {
		name        string
		header      http.Header
		body        string
		wantBy      string
		wantAddress string
		wantReason  string
		wantTicket  string
	}{
		{name: "bearer, through a trusted proxy", header: bearerJSON(testToken, "X-Forwarded-For", "198.51.100.23",
			"X-Patchbay-Reason", "rename after the migration", "X-Patchbay-Ticket", "OPS-42"),
			body: ok, wantBy: "jira", wantAddress: "198.51.100.23", wantReason: "rename after the migration", wantTicket: "OPS-42"},
		{name: "scoped caller in scope", header: bearerJSON(peeringToken), body: ok, wantBy: "peering", wantAddress: "127.0.0.1"},
		{name: "signed delivery", header: signedJSON(githubSecret, ok, "", "X-GitHub-Delivery", "gh-new-1"), body: ok, wantBy: "github", wantAddress: "127.0.0.1"},
		{name: "signed with a timestamp", header: signedJSON(timedSecret, ok, unix(0)), body: ok, wantBy: "timed", wantAddress: "127.0.0.1"},
	}
	var ids []string
	for _, v := range valid {
		resp, data := st.send(http.MethodPatch, peer, v.header, v.body)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: %d %s", v.name, resp.StatusCode, data)
		}
		var rec change.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.RequestedBy != v.wantBy || rec.ClientAddress != v.wantAddress || rec.Reason != v.wantReason || rec.Ticket != v.wantTicket {
			t.Fatalf("%s: audit %q %q %q %q", v.name, rec.RequestedBy, rec.ClientAddress, rec.Reason, rec.Ticket)
		}
		ids = append(ids, rec.ID)
	}
	for _, id := range ids {
		if done := st.waitTerminal(id, 20*time.Second); done.State != change.StateSucceeded {
			t.Fatalf("%s ended %s: %+v", id, done.State, done.Error)
		}
	}
	// The audit trail is in the terminal events too (the worker rebuilt
	// nothing: the record came from the message).
	evs := st.waitEvents(ids, 1, 20*time.Second)
	if ev := evs[ids[0]][0]; ev.Data.ClientAddress != "198.51.100.23" || ev.Data.Reason != valid[0].wantReason || ev.Data.Ticket != "OPS-42" {
		t.Fatalf("event audit trail: %+v", ev.Data)
	}
	reqs := st.sim.Requests()
	if len(reqs) != len(valid) {
		t.Fatalf("upstream saw %d requests, want %d (only the valid ones)", len(reqs), len(valid))
	}
	for _, r := range reqs {
		if r.Method != http.MethodPatch || r.Path != peer {
			t.Fatalf("upstream saw %s %s", r.Method, r.Path)
		}
	}
}

// everQueued is how many change messages the work queue has ever stored
// (its last sequence), whether or not a worker consumed them since.
func (st *stack) everQueued() uint64 {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, info := st.stream(ctx, topology.ChangesStream)
	return info.State.LastSeq
}
