package ccloudsim

import (
	"net/http"
	"testing"
)

func TestFixedResponses(t *testing.T) {
	const target = "/networking/v1/peerings/p-demo1"
	tests := []struct {
		status       int
		wantCode     string
		wantLocation string
	}{
		{http.StatusNotFound, "resource_not_found", ""},
		{http.StatusConflict, "resource_already_exists", "https://sim.example" + target},
		{http.StatusInternalServerError, "internal_server_error", ""},
		{http.StatusForbidden, "fixed_response", ""},
		{http.StatusPaymentRequired, "fixed_response", ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			s, _ := newSim(t, Options{BaseURL: "https://sim.example", RateLimit: 100})
			s.SetFixedResponse(target, tt.status)
			w := serve(s, "PATCH", target, peeringBody)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if e := envelopeOf(t, w).Errors[0]; e.Code != tt.wantCode || e.Status != itoa(tt.status) {
				t.Errorf("error %+v, want code %s", e, tt.wantCode)
			}
			if w.Header().Get("X-RateLimit-Remaining") != "99" {
				t.Errorf("X-RateLimit-Remaining = %q, want 99", w.Header().Get("X-RateLimit-Remaining"))
			}
			if w := serve(s, "PATCH", target, peeringBody, withAuth("")); w.Code != http.StatusUnauthorized {
				t.Errorf("unauthenticated: status %d, want 401 before the fixed response", w.Code)
			}
			if w := serve(s, "PATCH", "/networking/v1/peerings/p-demo2", peeringBody); w.Code != 200 {
				t.Errorf("other path: status %d, want 200", w.Code)
			}
			s.ClearFixedResponses()
			if w := serve(s, "PATCH", target, peeringBody); w.Code != 200 {
				t.Errorf("after clear: status %d, want 200", w.Code)
			}
		})
	}
}
