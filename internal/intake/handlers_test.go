package intake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/topology"
)

const (
	peeringPath = "/networking/v1/peerings/peer-123"
	peeringBody = `{"spec":{"environment":{"id":"env-abc123"}}}`
	maxBody     = 64 << 10 // the intake's default limit
)

// opaqueReader hides its length, so requests built from it are chunked.
type opaqueReader struct{ r io.Reader }

func (o opaqueReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func patchRequest(body io.Reader, contentType, token string) *http.Request {
	req := httptest.NewRequest(http.MethodPatch, peeringPath, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// changesInQueue is how many change messages the work queue holds.
func changesInQueue(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestPatchRejections(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	// A valid JSON body padded with spaces to exactly n bytes.
	padded := func(n int) string { return peeringBody + strings.Repeat(" ", n-len(peeringBody)) }

	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
		wantParam  string
		wantHeader map[string]string
	}{
		{
			name:       "text/plain is 415",
			req:        func() *http.Request { return patchRequest(strings.NewReader(peeringBody), "text/plain", jiraToken) },
			wantStatus: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type",
		},
		{
			name: "latin1 charset is 415",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(peeringBody), "application/json;charset=latin1", jiraToken)
			},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type",
		},
		{
			name:       "missing content type is 415",
			req:        func() *http.Request { return patchRequest(strings.NewReader(peeringBody), "", jiraToken) },
			wantStatus: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type",
		},
		{
			name: "application/json-patch+json is 415",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(peeringBody), "application/json-patch+json", jiraToken)
			},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: "unsupported_media_type",
		},
		{
			name: "Content-Length beyond 64 KiB is 413",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(padded(maxBody+1)), "application/json", jiraToken)
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "body_too_large",
		},
		{
			name: "chunked body beyond 64 KiB is 413",
			req: func() *http.Request {
				req := patchRequest(opaqueReader{strings.NewReader(padded(maxBody + 1))}, "application/json", jiraToken)
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
				return req
			},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "body_too_large",
		},
		{
			name:       "missing token is 401",
			req:        func() *http.Request { return patchRequest(strings.NewReader(peeringBody), "application/json", "") },
			wantStatus: http.StatusUnauthorized, wantCode: "user_unauthenticated",
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="patchbay"`},
		},
		{
			name: "basic auth is 401",
			req: func() *http.Request {
				req := patchRequest(strings.NewReader(peeringBody), "application/json", "")
				req.SetBasicAuth("jira", jiraToken)
				return req
			},
			wantStatus: http.StatusUnauthorized, wantCode: "user_unauthenticated",
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="patchbay"`},
		},
		{
			name: "unknown token is 401 invalid_token",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(peeringBody), "application/json", "unknown-token-0123456789")
			},
			wantStatus: http.StatusUnauthorized, wantCode: "user_unauthenticated",
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="patchbay", error="invalid_token"`},
		},
		{
			name:       "auth comes before media type",
			req:        func() *http.Request { return patchRequest(strings.NewReader(peeringBody), "text/plain", "") },
			wantStatus: http.StatusUnauthorized, wantCode: "user_unauthenticated",
		},
		{
			name: "300-character Idempotency-Key is 400",
			req: func() *http.Request {
				req := patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken)
				req.Header.Set("Idempotency-Key", strings.Repeat("k", 300))
				return req
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_idempotency_key", wantParam: "Idempotency-Key",
		},
		{
			name: "Idempotency-Key with a space is 400",
			req: func() *http.Request {
				req := patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken)
				req.Header.Set("Idempotency-Key", "two words")
				return req
			},
			wantStatus: http.StatusBadRequest, wantCode: "invalid_idempotency_key", wantParam: "Idempotency-Key",
		},
		{
			name: "malformed JSON is 400",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(`{"spec":`), "application/json", jiraToken)
			},
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "missing environment id is 422",
			req: func() *http.Request {
				return patchRequest(strings.NewReader(`{"spec":{}}`), "application/json", jiraToken)
			},
			wantStatus: http.StatusUnprocessableEntity,
		},
		{
			name: "bad resource id is 422 on the id parameter",
			req: func() *http.Request {
				req := httptest.NewRequest(http.MethodPatch, "/networking/v1/peerings/-bad", strings.NewReader(peeringBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+jiraToken)
				return req
			},
			wantStatus: http.StatusUnprocessableEntity, wantCode: "invalid_id", wantParam: "id",
		},
		{
			name: "wrong method is 405",
			req: func() *http.Request {
				return httptest.NewRequest(http.MethodDelete, peeringPath, nil)
			},
			wantStatus: http.StatusMethodNotAllowed, wantCode: "method_not_allowed",
		},
		{
			name:       "unknown route is 404",
			req:        func() *http.Request { return httptest.NewRequest(http.MethodGet, "/nope", nil) },
			wantStatus: http.StatusNotFound, wantCode: "not_found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := b.do(t, tt.req())
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			e := envelope(t, rec)
			if tt.wantCode != "" && e.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
			}
			if tt.wantParam != "" && (e.Source == nil || e.Source.Parameter != tt.wantParam) {
				t.Errorf("source = %+v, want parameter %q", e.Source, tt.wantParam)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// Nothing above may have been queued.
	if n := changesInQueue(t, b.js); n != 0 {
		t.Fatalf("rejected requests queued %d changes", n)
	}

	// The limit is inclusive: a body of exactly 64 KiB is accepted, both
	// with a Content-Length and chunked.
	for i, req := range []*http.Request{
		patchRequest(strings.NewReader(padded(maxBody)), "application/json; charset=utf-8", jiraToken),
		func() *http.Request {
			req := patchRequest(opaqueReader{strings.NewReader(padded(maxBody))}, "application/json", jiraToken)
			req.ContentLength = -1
			req.TransferEncoding = []string{"chunked"}
			return req
		}(),
	} {
		if rec := b.do(t, req); rec.Code != http.StatusAccepted {
			t.Fatalf("body of exactly the limit (case %d) = %d, want 202; body %s", i, rec.Code, rec.Body)
		}
	}
	if n := changesInQueue(t, b.js); n != 2 {
		t.Fatalf("queue holds %d changes, want 2", n)
	}
}

// TestOversizedChunkedBodyOverTheWire sends a chunked body through a real
// HTTP server on 127.0.0.1, as a client without a Content-Length would.
func TestOversizedChunkedBodyOverTheWire(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	ts := httptest.NewServer(b.srv)
	t.Cleanup(ts.Close)

	body := peeringBody + strings.Repeat(" ", 2*maxBody)
	req, err := http.NewRequest(http.MethodPatch, ts.URL+peeringPath, opaqueReader{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+jiraToken)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
	var env struct {
		Errors []struct {
			Status string `json:"status"`
			Code   string `json:"code"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if len(env.Errors) != 1 || env.Errors[0].Status != "413" || env.Errors[0].Code != "body_too_large" {
		t.Fatalf("envelope = %+v", env)
	}
	if n := changesInQueue(t, b.js); n != 0 {
		t.Fatalf("oversized request queued %d changes", n)
	}
}

func TestGetChange(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})

	// Queue one real change to read back.
	rec := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("PATCH = %d: %s", rec.Code, rec.Body)
	}
	var accepted change.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &accepted); err != nil {
		t.Fatal(err)
	}
	if !change.ValidID(accepted.ID) || accepted.State != change.StateQueued || accepted.RequestedBy != "jira" {
		t.Fatalf("accepted record = %+v", accepted)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/changes/"+accepted.ID {
		t.Fatalf("Location = %q", loc)
	}
	unknown := change.NewID()

	get := func(target, token string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
		wantParam  string
	}{
		{name: "known change", req: get("/v1/changes/"+accepted.ID, botToken), wantStatus: http.StatusOK},
		{name: "known change, wait 0", req: get("/v1/changes/"+accepted.ID+"?wait=0s", jiraToken), wantStatus: http.StatusOK},
		{name: "wait=abc is 400", req: get("/v1/changes/"+accepted.ID+"?wait=abc", jiraToken),
			wantStatus: http.StatusBadRequest, wantCode: "invalid_wait", wantParam: "wait"},
		{name: "negative wait is 400", req: get("/v1/changes/"+accepted.ID+"?wait=-5s", jiraToken),
			wantStatus: http.StatusBadRequest, wantCode: "invalid_wait", wantParam: "wait"},
		{name: "unknown change is 404", req: get("/v1/changes/"+unknown, jiraToken),
			wantStatus: http.StatusNotFound, wantCode: "change_not_found"},
		{name: "bad id format is 404", req: get("/v1/changes/chg_NOT-A-VALID-ID", jiraToken),
			wantStatus: http.StatusNotFound, wantCode: "change_not_found"},
		{name: "id with KV wildcard is 404", req: get("/v1/changes/chg_*", jiraToken),
			wantStatus: http.StatusNotFound, wantCode: "change_not_found"},
		{name: "missing token is 401", req: get("/v1/changes/"+accepted.ID, ""),
			wantStatus: http.StatusUnauthorized, wantCode: "user_unauthenticated"},
		{name: "retry of a queued change is 409", req: httptest.NewRequest(http.MethodPost, "/v1/changes/"+accepted.ID+"/retry", nil),
			wantStatus: http.StatusConflict, wantCode: "change_not_failed"},
		{name: "retry of an unknown change is 404", req: httptest.NewRequest(http.MethodPost, "/v1/changes/"+unknown+"/retry", nil),
			wantStatus: http.StatusNotFound, wantCode: "change_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasSuffix(tt.req.URL.Path, "/retry") {
				tt.req.Header.Set("Authorization", "Bearer "+jiraToken)
			}
			rec := b.do(t, tt.req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantStatus == http.StatusOK {
				var got change.Record
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.ID != accepted.ID || got.Resource.Path != peeringPath || got.Operation != "networking.v1.peerings.update" {
					t.Fatalf("record = %+v", got)
				}
				return
			}
			e := envelope(t, rec)
			if e.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", e.Code, tt.wantCode)
			}
			if tt.wantParam != "" && (e.Source == nil || e.Source.Parameter != tt.wantParam) {
				t.Errorf("source = %+v, want parameter %q", e.Source, tt.wantParam)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	send := func(path, body, key, token string) *httptest.ResponseRecorder {
		req := patchRequest(strings.NewReader(body), "application/json", token)
		if path != "" {
			req = httptest.NewRequest(http.MethodPatch, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Idempotency-Key", key)
		return b.do(t, req)
	}
	first := send("", peeringBody, "key-1", jiraToken)
	if first.Code != http.StatusAccepted || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("first = %d %v", first.Code, first.Header())
	}
	var r1 change.Record
	if err := json.Unmarshal(first.Body.Bytes(), &r1); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		path       string // default peeringPath
		body, key  string
		token      string
		wantStatus int
		wantSameID bool
	}{
		// Whitespace differences do not matter: the body is compacted.
		{name: "same key and body replays", body: " " + peeringBody + "\n", key: "key-1", token: jiraToken,
			wantStatus: http.StatusAccepted, wantSameID: true},
		{name: "same key, other body is 409", body: `{"spec":{"environment":{"id":"env-other"}}}`, key: "key-1", token: jiraToken,
			wantStatus: http.StatusConflict},
		{name: "same key, other caller is a new change", body: peeringBody, key: "key-1", token: botToken,
			wantStatus: http.StatusAccepted},
		{name: "other key is a new change", body: peeringBody, key: "key-2", token: jiraToken,
			wantStatus: http.StatusAccepted},
		{name: "same key and body on another resource is 409", path: "/networking/v1/peerings/peer-999",
			body: peeringBody, key: "key-1", token: jiraToken, wantStatus: http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := send(tt.path, tt.body, tt.key, tt.token)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Code != http.StatusAccepted {
				if e := envelope(t, rec); e.Source == nil || e.Source.Parameter != "Idempotency-Key" {
					t.Errorf("source = %+v, want parameter Idempotency-Key", e.Source)
				}
				return
			}
			var r change.Record
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if (r.ID == r1.ID) != tt.wantSameID {
				t.Fatalf("id %s vs first %s, want same = %v", r.ID, r1.ID, tt.wantSameID)
			}
			if replayed := rec.Header().Get("Idempotent-Replayed") == "true"; replayed != tt.wantSameID {
				t.Fatalf("Idempotent-Replayed = %q", rec.Header().Get("Idempotent-Replayed"))
			}
		})
	}
	// first, other caller, other key: three changes queued.
	if n := changesInQueue(t, b.js); n != 3 {
		t.Fatalf("queue holds %d changes, want 3", n)
	}
}

// TestGetChangeWaitExpiresBeforeFirstRead covers a wait so short that it ends
// before the record is first read: the answer must still be the record (or a
// 404 for an unknown change), never an empty 200.
func TestGetChangeWaitExpiresBeforeFirstRead(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	rec := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("PATCH = %d: %s", rec.Code, rec.Body)
	}
	var accepted change.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &accepted); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		id         string
		wantStatus int
	}{
		{name: "known change", id: accepted.ID, wantStatus: http.StatusOK},
		{name: "unknown change", id: change.NewID(), wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/changes/"+tt.id+"?wait=1ns", nil)
			req.Header.Set("Authorization", "Bearer "+jiraToken)
			rec := b.do(t, req)
			var got change.Record
			_ = json.Unmarshal(rec.Body.Bytes(), &got)
			if rec.Code == http.StatusOK && got.ID == "" {
				t.Fatalf("a wait that expires before the first read must not give an empty 200: %d %s", rec.Code, rec.Body)
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if rec.Code == http.StatusOK && got.ID != tt.id {
				t.Fatalf("record id = %q, want %q", got.ID, tt.id)
			}
		})
	}
}

func TestProbes(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{})
	tests := []struct {
		path     string
		wantBody string
	}{
		{path: "/healthz", wantBody: `{"status":"ok"}`},
		{path: "/readyz", wantBody: `{"status":"ready"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			// No token: probes are public.
			rec := b.do(t, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d: %s", tt.path, rec.Code, rec.Body)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Fatalf("body = %s, want %s", got, tt.wantBody)
			}
		})
	}
}

func TestNewNilDependency(t *testing.T) {
	t.Parallel()
	if srv, err := intake.New(intake.Config{}, intake.Deps{}); err == nil || srv != nil {
		t.Fatalf("New with no dependencies = %v, %v; want an error", srv, err)
	}
}
