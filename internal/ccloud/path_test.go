package ccloud_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// injectionIDs returns path ids that must never produce a request.
func injectionIDs() []string {
	return []string{
		"../iam/v2/api-keys",
		"p-1/../../x",
		"%2e%2e",
		"..",
		".",
		"p-1?x=1",
		"p 1",
		"",
		"-p",
		"_p",
		strings.Repeat("p", 256),
		"p-1#x",
		"p%2F1",
		"p-1/",
		"/p-1",
		"p-1\n",
		"p-1\x00",
		"p-1;x",
		"p-1\\x",
		"p-ü",
		"p-1.json",
		"p-1@evil.example",
	}
}

func TestPathInjectionNeverSendsARequest(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	c := newClient(t, rec.srv.URL)
	for _, op := range []ccloud.Operation{ccloud.UpdatePeering, ccloud.UpdateIntegration} {
		for _, id := range injectionIDs() {
			resp, err := c.Do(t.Context(), op, id, []byte(peeringBody))
			var pe *ccloud.PermanentError
			if !errors.As(err, &pe) || !errors.Is(err, ccloud.ErrInvalidID) || pe.Status != 0 || resp != nil {
				t.Errorf("%s %q: Do = %v, %v; want nil, *PermanentError wrapping ErrInvalidID", op, id, resp, err)
			}
			if _, err := op.Path(id); !errors.Is(err, ccloud.ErrInvalidID) {
				t.Errorf("%s.Path(%q) err = %v, want ErrInvalidID", op, id, err)
			}
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests reached the server: %+v", n, rec.requests())
	}
}

func TestRefusedInputSendsNothing(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	c := newClient(t, rec.srv.URL)
	tests := []struct {
		name string
		op   ccloud.Operation
		body string
		want error
	}{
		{"unknown operation", ccloud.Operation("iam.v2.api-keys.delete"), peeringBody, ccloud.ErrUnknownOperation},
		{"empty operation", ccloud.Operation(""), peeringBody, ccloud.ErrUnknownOperation},
		{"empty body", ccloud.UpdatePeering, "", ccloud.ErrInvalidBody},
		{"not JSON", ccloud.UpdatePeering, "display_name=x", ccloud.ErrInvalidBody},
		{"JSON array", ccloud.UpdateIntegration, `[{"a":1}]`, ccloud.ErrInvalidBody},
		{"truncated JSON", ccloud.UpdateIntegration, `{"display_name":`, ccloud.ErrInvalidBody},
	}
	for _, tt := range tests {
		resp, err := c.Do(t.Context(), tt.op, "p-1", []byte(tt.body))
		var pe *ccloud.PermanentError
		if !errors.As(err, &pe) || !errors.Is(err, tt.want) || resp != nil || pe.Status != 0 {
			t.Errorf("%s: Do = %v, %v; want *PermanentError wrapping %v", tt.name, resp, err, tt.want)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

func TestOperationPathsAndURL(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 255)
	tests := []struct {
		op       ccloud.Operation
		id       string
		wantPath string
		wantKind string
	}{
		{ccloud.UpdatePeering, "p-12345", "/networking/v1/peerings/p-12345", "Peering"},
		{ccloud.UpdatePeering, long, "/networking/v1/peerings/" + long, "Peering"},
		{ccloud.UpdateIntegration, "i_9-X", "/notifications/v1/integrations/i_9-X", "Integration"},
		{ccloud.UpdateIntegration, "0", "/notifications/v1/integrations/0", "Integration"},
	}
	for _, base := range []string{"", "/prefix", "/prefix/"} {
		rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{}`))
		})
		c := newClient(t, rec.srv.URL+base)
		for i, tt := range tests {
			path, err := tt.op.Path(tt.id)
			if err != nil || path != tt.wantPath || tt.op.Kind() != tt.wantKind || !tt.op.Valid() {
				t.Fatalf("%s.Path(%q) = %q, %v; Kind %q", tt.op, tt.id, path, err, tt.op.Kind())
			}
			if _, err := c.Do(t.Context(), tt.op, tt.id, []byte(peeringBody)); err != nil {
				t.Fatalf("Do: %v", err)
			}
			got := rec.requests()[i]
			want := strings.TrimSuffix(base, "/") + tt.wantPath
			if got.RequestURI != want || got.Method != http.MethodPatch {
				t.Errorf("request = %s %s, want PATCH %s", got.Method, got.RequestURI, want)
			}
		}
	}
	if ccloud.Operation("x").Kind() != "" || ccloud.Operation("x").Valid() {
		t.Error("unknown operation has a kind or is valid")
	}
}
