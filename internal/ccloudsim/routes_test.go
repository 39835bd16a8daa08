package ccloudsim

import (
	"net/http"
	"strings"
	"testing"
)

func TestRoutingAndValidation(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		target      string
		body        string
		opts        []reqOpt
		wantStatus  int
		wantCode    string
		wantPointer string
	}{
		{name: "peering ok", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: peeringBody, wantStatus: 200},
		{name: "integration ok", method: "PATCH", target: "/notifications/v1/integrations/i-slack1", body: integrationBody, wantStatus: 200},
		{name: "json with charset", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: peeringBody, opts: []reqOpt{withContentType("application/json; charset=utf-8")}, wantStatus: 200},
		{name: "unknown path", method: "PATCH", target: "/networking/v1/networks/n-1", body: peeringBody, wantStatus: 404, wantCode: "not_found"},
		{name: "collection path", method: "PATCH", target: "/networking/v1/peerings/", body: peeringBody, wantStatus: 404, wantCode: "not_found"},
		{name: "sub path", method: "PATCH", target: "/networking/v1/peerings/p-demo1/x", body: peeringBody, wantStatus: 404, wantCode: "not_found"},
		{name: "GET", method: "GET", target: "/networking/v1/peerings/p-demo1", wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "DELETE integration", method: "DELETE", target: "/notifications/v1/integrations/i-slack1", wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "escaped slash in id", method: "PATCH", target: "/networking/v1/peerings/p%2Fdemo1", body: peeringBody, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "dot-dot id", method: "PATCH", target: "/networking/v1/peerings/%2E%2E", body: peeringBody, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "id starting with dash", method: "PATCH", target: "/networking/v1/peerings/-p", body: peeringBody, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "missing content type", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: peeringBody, opts: []reqOpt{withContentType("")}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "text content type", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: peeringBody, opts: []reqOpt{withContentType("text/plain")}, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "too large", method: "PATCH", target: "/notifications/v1/integrations/i-slack1", body: `{"description":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, wantStatus: 413, wantCode: "request_entity_too_large"},
		{name: "malformed", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: `{"spec":`, wantStatus: 400, wantCode: "malformed_json"},
		{name: "duplicate key", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: `{"spec":{"environment":{"id":"env-demo"}},"spec":{}}`, wantStatus: 400, wantCode: "duplicate_key", wantPointer: "/spec"},
		{name: "peering schema violation", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: `{"spec":{"environment":{"id":"env-demo"},"network":{"id":"n-2"}}}`, wantStatus: 422, wantCode: "immutable_field", wantPointer: "/spec/network"},
		{name: "integration schema violation", method: "PATCH", target: "/notifications/v1/integrations/i-slack1", body: `{"target":{"kind":"Slack","webhook_url":"ftp://x"}}`, wantStatus: 422, wantCode: "invalid_url", wantPointer: "/target/webhook_url"},
		{name: "peering body on integration path", method: "PATCH", target: "/notifications/v1/integrations/i-slack1", body: peeringBody, wantStatus: 422, wantCode: "unknown_field", wantPointer: "/spec"},
		{name: "unknown peering", method: "PATCH", target: "/networking/v1/peerings/p-nope", body: peeringBody, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "peering in another environment", method: "PATCH", target: "/networking/v1/peerings/p-demo1", body: `{"spec":{"environment":{"id":"env-other"}}}`, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "unknown integration", method: "PATCH", target: "/notifications/v1/integrations/i-nope", body: `{}`, wantStatus: 404, wantCode: "resource_not_found"},
		{name: "role email integration", method: "PATCH", target: "/notifications/v1/integrations/i-role1", body: `{"display_name":"x"}`, wantStatus: 422, wantCode: "not_updatable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSim(t, Options{})
			w := serve(s, tt.method, tt.target, tt.body, tt.opts...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			rid := w.Header().Get("X-Request-Id")
			if rid == "" || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("X-Request-Id %q, Content-Type %q; want both set", rid, w.Header().Get("Content-Type"))
			}
			if tt.wantStatus == 405 && w.Header().Get("Allow") != http.MethodPatch {
				t.Errorf("Allow = %q, want PATCH", w.Header().Get("Allow"))
			}
			if tt.wantCode == "" {
				return
			}
			e := envelopeOf(t, w).Errors[0]
			ptr := ""
			if e.Source != nil {
				ptr = e.Source.Pointer
			}
			if e.Code != tt.wantCode || ptr != tt.wantPointer || e.ID != rid || e.Title == "" {
				t.Errorf("error = %+v (pointer %q), want code %q pointer %q id %q", e, ptr, tt.wantCode, tt.wantPointer, rid)
			}
		})
	}
}

func TestFailedUpdatesChangeNothing(t *testing.T) {
	s, _ := newSim(t, Options{})
	before, _ := s.Peering("p-demo1")
	for _, body := range []string{
		`{"spec":{"display_name":"x","environment":{"id":"env-other"}}}`,
		`{"spec":{"display_name":"x","environment":{"id":"env-demo"},"cloud":{}}}`,
		`{"spec":{"display_name":"x","environment":{"id":"env-demo"}}}x`,
	} {
		if w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", body); w.Code == 200 {
			t.Fatalf("body %s accepted", body)
		}
	}
	if after, _ := s.Peering("p-demo1"); after.DisplayName != before.DisplayName || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("peering changed by failed updates: %+v", after)
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	s, _ := newSim(t, Options{})
	seen := make(map[string]bool)
	for i := 0; i < 100; i++ {
		target := "/networking/v1/peerings/p-demo1"
		if i%2 == 1 {
			target = "/nope"
		}
		id := serve(s, "PATCH", target, peeringBody).Header().Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("request %d: X-Request-Id %q empty or repeated", i, id)
		}
		seen[id] = true
	}
}

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path   string
		kind   resourceKind
		id     string
		routed bool
	}{
		{"/networking/v1/peerings/p-1", kindPeering, "p-1", true},
		{"/notifications/v1/integrations/i-1", kindIntegration, "i-1", true},
		{"/networking/v1/peerings/p%2F1", kindPeering, "p/1", true},
		{"/networking/v1/peerings/p%zz", kindPeering, "", true},
		{"/networking/v1/peerings/", 0, "", false},
		{"/networking/v1/peerings/p-1/", 0, "", false},
		{"/networking/v1/peerings", 0, "", false},
		{"/networking/v1/peerings/../networks/n-1", 0, "", false},
		{"/notifications/v1/integrations/i-1?x", kindIntegration, "i-1?x", true},
		{"/v2/networking/v1/peerings/p-1", 0, "", false},
	}
	for _, tt := range tests {
		kind, id, ok := parseRoute(tt.path)
		if kind != tt.kind || id != tt.id || ok != tt.routed {
			t.Errorf("parseRoute(%q) = (%v, %q, %v), want (%v, %q, %v)", tt.path, kind, id, ok, tt.kind, tt.id, tt.routed)
		}
	}
}
