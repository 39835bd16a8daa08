package ccloud_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/internal/ccloud"
)

func TestTypedHelpers(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "rid-typed")
		switch r.URL.Path {
		case "/networking/v1/peerings/p-12345":
			_, _ = w.Write([]byte(seedPeeringResponse))
		case "/notifications/v1/integrations/i-12345":
			_, _ = w.Write([]byte(seedIntegrationResponse))
		case "/networking/v1/peerings/p-bad":
			_, _ = w.Write([]byte(`{"spec":{"cloud":"oops"}}`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"errors":[{"status":"404","code":"not_found"}]}`))
		}
	})
	c := newClient(t, rec.srv.URL)
	name := "prod-peering-use1"

	p, resp, err := c.UpdatePeering(t.Context(), "p-12345", ccloud.PeeringUpdate{Spec: ccloud.PeeringSpecUpdate{
		DisplayName: &name, Environment: ccloud.EnvScopedRef{ID: "env-00000"}}})
	if err != nil || p == nil || p.ID != "p-12345" || p.Spec.DisplayName != name || resp.RequestID != "rid-typed" {
		t.Fatalf("UpdatePeering = %+v, %+v, %v", p, resp, err)
	}
	if got := string(rec.requests()[0].Body); got != `{"spec":{"display_name":"prod-peering-use1","environment":{"id":"env-00000"}}}` {
		t.Errorf("peering body = %s", got)
	}

	desc := "A Slack channel integration"
	target := ccloud.NewSlackTarget("https://hooks.slack.com/services/{id}/{id}/{id}")
	i, _, err := c.UpdateIntegration(t.Context(), "i-12345", ccloud.IntegrationUpdate{Description: &desc, Target: &target})
	if err != nil || i == nil || i.Target.Slack == nil || i.DisplayName != "Slack integration" {
		t.Fatalf("UpdateIntegration = %+v, %v", i, err)
	}
	if got := string(rec.requests()[1].Body); got != `{"description":"A Slack channel integration","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/{id}/{id}/{id}"}}` {
		t.Errorf("integration body = %s", got)
	}

	p, resp, err = c.UpdatePeering(t.Context(), "p-bad", ccloud.PeeringUpdate{Spec: ccloud.PeeringSpecUpdate{Environment: ccloud.EnvScopedRef{ID: "e"}}})
	var pe *ccloud.PermanentError
	if p != nil || resp == nil || !errors.As(err, &pe) || pe.Status != 200 {
		t.Errorf("malformed 200: %+v, %+v, %v", p, resp, err)
	}

	i, resp, err = c.UpdateIntegration(t.Context(), "i-missing", ccloud.IntegrationUpdate{})
	if i != nil || resp == nil || resp.Status != 404 || !errors.As(err, &pe) || resp.Errors[0].Code != "not_found" {
		t.Errorf("404: %+v, %+v, %v", i, resp, err)
	}
}
