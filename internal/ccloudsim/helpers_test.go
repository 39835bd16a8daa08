package ccloudsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/clocktest"
)

// Test credentials.
const (
	testKey    = "KEY1"
	testSecret = "s3cr3t-basic-password"
	testToken  = "tok-long-bearer-token-value"
)

// fakeClock is the shared settable test clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) }

// newSim returns a simulator with the test credentials, demo data and a fake clock.
func newSim(t *testing.T, opts Options) (*Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if opts.Credentials == nil {
		opts.Credentials = map[string]string{testKey: testSecret}
	}
	if opts.Tokens == nil {
		opts.Tokens = []string{testToken}
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.SeedDemo()
	return s, clock
}

// reqOpt modifies a request before it is served.
type reqOpt func(*http.Request)

// withBasic sets HTTP Basic credentials.
func withBasic(key, secret string) reqOpt {
	return func(r *http.Request) { r.SetBasicAuth(key, secret) }
}

// withAuth sets the Authorization header verbatim ("" removes it).
func withAuth(v string) reqOpt {
	return func(r *http.Request) {
		if v == "" {
			r.Header.Del("Authorization")
			return
		}
		r.Header.Set("Authorization", v)
	}
}

// withContentType sets the Content-Type header ("" removes it).
func withContentType(v string) reqOpt {
	return func(r *http.Request) {
		if v == "" {
			r.Header.Del("Content-Type")
			return
		}
		r.Header.Set("Content-Type", v)
	}
}

// serve runs one request through h; by default an authenticated JSON PATCH.
func serve(h http.Handler, method, target, body string, opts ...reqOpt) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.SetBasicAuth(testKey, testSecret)
	r.Header.Set("Content-Type", "application/json")
	for _, o := range opts {
		o(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// envelopeOf decodes the error envelope of a response, failing the test otherwise.
func envelopeOf(t *testing.T, w *httptest.ResponseRecorder) apierror.Envelope {
	t.Helper()
	env, err := apierror.Decode(w.Body.Bytes())
	if err != nil || len(env.Errors) == 0 {
		t.Fatalf("body %q is not an error envelope: %v", w.Body.String(), err)
	}
	return env
}

// decodeMap decodes a JSON object body.
func decodeMap(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

// path digs a nested value out of decoded JSON.
func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// Bodies used across tests.
const (
	peeringBody     = `{"spec":{"display_name":"renamed","environment":{"id":"env-demo"}}}`
	integrationBody = `{"display_name":"new name","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/NEW"}}`
)
