package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/client"
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
	for _, op := range []client.Operation{client.UpdatePeering, client.UpdateIntegration} {
		for _, id := range injectionIDs() {
			resp, err := c.Do(t.Context(), op, id, []byte(peeringBody))
			var pe *client.PermanentError
			if !errors.As(err, &pe) || !errors.Is(err, client.ErrInvalidID) || pe.Status != 0 || resp != nil {
				t.Errorf("%s %q: Do = %v, %v; want nil, *PermanentError wrapping ErrInvalidID", op, id, resp, err)
			}
			if _, err := op.Path(id); !errors.Is(err, client.ErrInvalidID) {
				t.Errorf("%s.Path(%q) err = %v, want ErrInvalidID", op, id, err)
			}
		}
	}
	// Typed helpers go through the same gate.
	if _, _, err := c.UpdatePeering(t.Context(), "../x", client.PeeringUpdate{}); !errors.Is(err, client.ErrInvalidID) {
		t.Errorf("UpdatePeering err = %v", err)
	}
	if _, _, err := c.UpdateIntegration(t.Context(), "a/b", client.IntegrationUpdate{}); !errors.Is(err, client.ErrInvalidID) {
		t.Errorf("UpdateIntegration err = %v", err)
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
		op   client.Operation
		body string
		want error
	}{
		{"unknown operation", client.Operation("iam.v2.api-keys.delete"), peeringBody, client.ErrUnknownOperation},
		{"empty operation", client.Operation(""), peeringBody, client.ErrUnknownOperation},
		{"empty body", client.UpdatePeering, "", client.ErrInvalidBody},
		{"not JSON", client.UpdatePeering, "display_name=x", client.ErrInvalidBody},
		{"JSON array", client.UpdateIntegration, `[{"a":1}]`, client.ErrInvalidBody},
		{"truncated JSON", client.UpdateIntegration, `{"display_name":`, client.ErrInvalidBody},
	}
	for _, tt := range tests {
		resp, err := c.Do(t.Context(), tt.op, "p-1", []byte(tt.body))
		var pe *client.PermanentError
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
		op       client.Operation
		id       string
		wantPath string
		wantKind string
	}{
		{client.UpdatePeering, "p-12345", "/networking/v1/peerings/p-12345", "Peering"},
		{client.UpdatePeering, long, "/networking/v1/peerings/" + long, "Peering"},
		{client.UpdateIntegration, "i_9-X", "/notifications/v1/integrations/i_9-X", "Integration"},
		{client.UpdateIntegration, "0", "/notifications/v1/integrations/0", "Integration"},
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
	if client.Operation("x").Kind() != "" || client.Operation("x").Valid() {
		t.Error("unknown operation has a kind or is valid")
	}
}
