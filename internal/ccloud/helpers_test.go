package ccloud_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Test credentials; the assertions check that none of them leaks.
const (
	testKey    = "TESTKEY123"
	testSecret = "s3cr3t-Do-Not-Leak-9f8e7d"
	testToken  = "tok-Do-Not-Leak-4c3b2a1"
)

// fixedNow is the injected clock of every test client.
func fixedNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// recorded is one request seen by a test server.
type recorded struct {
	Method, RequestURI string
	Header             http.Header
	Body               []byte
}

// recorder is an httptest server that counts and records requests and
// answers with a configurable handler.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

// newRecorder starts a server running h after recording each request.
func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.RequestURI, r.Header.Clone(), body})
		rec.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// requests returns a copy of the recorded requests.
func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

// newClient builds a Basic-auth client for baseURL with a fixed clock.
func newClient(t *testing.T, baseURL string, mutate ...func(*ccloud.Config)) *ccloud.Client {
	t.Helper()
	cfg := ccloud.Config{
		BaseURL:   baseURL,
		APIKey:    testKey,
		APISecret: testSecret,
		Version:   "1.2.3",
		Timeout:   5 * time.Second,
		Now:       fixedNow,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := ccloud.New(cfg)
	if err != nil {
		t.Fatalf("ccloud.New: %v", err)
	}
	return c
}

// peeringBody is a valid Update a Peering body.
const peeringBody = `{"spec":{"display_name":"prod-peering-use1","environment":{"id":"env-00000"}}}`

// integrationBody is a valid Update an Integration body.
const integrationBody = `{"display_name":"Slack integration","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/T0/B0/XYZ"}}`

// assertNoSecrets fails if s contains any test secret.
func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, testToken, "hooks.slack.com/services", "webhook.office.com/webhookb2"} {
		if strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
			t.Errorf("string leaks %q: %s", secret, s)
		}
	}
}

// sha8 is the first 8 hex digits of sha256(s).
func sha8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
