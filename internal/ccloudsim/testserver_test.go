package ccloudsim

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer starts an httptest.Server around a new simulator and closes
// it when the test ends. Invalid options fail the test.
func NewTestServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("ccloudsim.New: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}
