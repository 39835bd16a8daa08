package intake_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/intake"
)

// A bad path id is refused before authentication looks at the request.
func TestPathIDIsCheckedBeforeAnythingElse(t *testing.T) {
	b := newBundle(t, intake.Config{})
	for _, path := range []string{"/networking/v1/peerings/-p", "/notifications/v1/integrations/a%2E%2E", "/networking/v1/peerings/" + strings.Repeat("a", 256)} {
		req := httptest.NewRequest(http.MethodPatch, path, strings.NewReader(`{}`)) // no token, no content type
		rec := b.do(t, req)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"parameter":"id"`) {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
