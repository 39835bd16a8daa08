package ticketsim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ticketsim"
)

const adf = `{"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hello"}]}]}}`

func do(t *testing.T, h http.Handler, method, path, body string, auth func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != nil {
		auth(req)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestJira(t *testing.T) {
	j := ticketsim.NewJira("a@example.com", "tok", time.Now, "OPS-1")
	good := func(r *http.Request) { r.SetBasicAuth("a@example.com", "tok") }
	cases := []struct {
		name, path, body string
		auth             func(*http.Request)
		want             int
	}{
		{"no auth", "/rest/api/3/issue/OPS-1/comment", adf, nil, 401},
		{"bearer is not Jira Cloud's basic", "/rest/api/3/issue/OPS-1/comment", adf, func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") }, 401},
		{"wrong token", "/rest/api/3/issue/OPS-1/comment", adf, func(r *http.Request) { r.SetBasicAuth("a@example.com", "nope") }, 401},
		{"unknown issue", "/rest/api/3/issue/OPS-2/comment", adf, good, 404},
		{"not ADF", "/rest/api/3/issue/OPS-1/comment", `{"body":"plain text"}`, good, 400},
		{"ok", "/rest/api/3/issue/OPS-1/comment", adf, good, 201},
	}
	for _, c := range cases {
		if got := do(t, j, http.MethodPost, c.path, c.body, c.auth).Code; got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if cs := j.Comments(); len(cs) != 1 || cs[0].Text != "hello" {
		t.Errorf("comments %+v", cs)
	}
	reset := time.Now().Add(time.Minute)
	j.Push(j.RateLimitedUntil(reset))
	rec := do(t, j, http.MethodPost, "/rest/api/3/issue/OPS-1/comment", adf, good)
	if rec.Code != 429 || rec.Header().Get("X-RateLimit-Reset") != reset.UTC().Format("2006-01-02T15:04:05Z") {
		t.Errorf("rate limited: %d %v", rec.Code, rec.Header())
	}
	if n := len(j.Requests()); n != 7 {
		t.Errorf("journal has %d requests, want 7", n)
	}
}

func TestServiceNow(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	s := ticketsim.NewServiceNow("u", "p", "bearer-tok", time.Now, "incident:"+id)
	basic := func(r *http.Request) { r.SetBasicAuth("u", "p") }
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer bearer-tok") }
	note := `{"work_notes":"done"}`
	cases := []struct {
		name, path string
		auth       func(*http.Request)
		want       int
	}{
		{"no auth", "/api/now/table/incident/" + id, nil, 401},
		{"wrong password", "/api/now/table/incident/" + id, func(r *http.Request) { r.SetBasicAuth("u", "x") }, 401},
		{"unknown record", "/api/now/table/incident/" + strings.Repeat("f", 32), basic, 404},
		{"basic", "/api/now/table/incident/" + id, basic, 200},
		{"bearer", "/api/now/table/incident/" + id, bearer, 200},
	}
	for _, c := range cases {
		if got := do(t, s, http.MethodPatch, c.path, note, c.auth).Code; got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	s.Push(s.RateLimited(3 * time.Second))
	if rec := do(t, s, http.MethodPatch, "/api/now/table/incident/"+id, note, basic); rec.Code != 429 || rec.Header().Get("Retry-After") != "3" {
		t.Errorf("rate limited: %d %v", rec.Code, rec.Header())
	}
	if n := len(s.WorkNotes()); n != 2 {
		t.Errorf("work notes %d, want 2", n)
	}
}

func TestReceiverRefusesBadSignatures(t *testing.T) {
	r, err := ticketsim.NewReceiver("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, r, http.MethodPost, "/hooks", `{}`, func(req *http.Request) {
		req.Header.Set("webhook-id", "msg_1")
		req.Header.Set("webhook-timestamp", "1614265330")
		req.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	})
	if rec.Code != 401 || len(r.Callbacks()) != 0 {
		t.Errorf("a stale, non-matching signature got %d", rec.Code)
	}
}
