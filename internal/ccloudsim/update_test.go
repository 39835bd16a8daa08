package ccloudsim

import (
	"testing"
	"time"
)

func TestUpdatePeering(t *testing.T) {
	s, clock := newSim(t, Options{BaseURL: "https://sim.example"})
	created, _ := s.Peering("p-demo1")
	clock.Advance(time.Hour)
	w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	m := decodeMap(t, w)
	org := "crn://confluent.cloud/organization=" + DefaultOrganization
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"api_version"}, "networking/v1"},
		{[]string{"kind"}, "Peering"},
		{[]string{"id"}, "p-demo1"},
		{[]string{"metadata", "self"}, "https://sim.example/networking/v1/peerings/p-demo1"},
		{[]string{"metadata", "resource_name"}, org + "/environment=env-demo/network=n-demo1/peering=p-demo1"},
		{[]string{"metadata", "created_at"}, created.CreatedAt.UTC().Format(time.RFC3339)},
		{[]string{"metadata", "updated_at"}, clock.Now().UTC().Format(time.RFC3339)},
		{[]string{"spec", "display_name"}, "renamed"},
		{[]string{"spec", "cloud", "kind"}, "AwsPeering"},
		{[]string{"spec", "cloud", "account"}, "000000000000"},
		{[]string{"spec", "environment", "id"}, "env-demo"},
		{[]string{"spec", "environment", "resource_name"}, org + "/environment=env-demo"},
		{[]string{"spec", "network", "id"}, "n-demo1"},
		{[]string{"spec", "network", "related"}, "https://sim.example/networking/v1/networks/n-demo1"},
		{[]string{"status", "phase"}, "READY"},
	}
	for _, c := range checks {
		if got := path(m, c.keys...); got != c.want {
			t.Errorf("%v = %v, want %v", c.keys, got, c.want)
		}
	}
	stored, _ := s.Peering("p-demo1")
	if stored.DisplayName != "renamed" || !stored.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("stored = %+v, want renamed and updated now", stored)
	}

	// An update without display_name keeps it.
	clock.Advance(time.Minute)
	w = serve(s, "PATCH", "/networking/v1/peerings/p-demo1", `{"spec":{"environment":{"id":"env-demo"}}}`)
	if got := path(decodeMap(t, w), "spec", "display_name"); w.Code != 200 || got != "renamed" {
		t.Errorf("status %d display_name %v, want 200 renamed", w.Code, got)
	}
}

func TestUpdateIntegration(t *testing.T) {
	s, clock := newSim(t, Options{})
	steps := []struct {
		name, id, body          string
		wantName, wantDesc      string
		wantKind, urlKey, wantU string
	}{
		{"rename", "i-slack1", `{"display_name":"renamed"}`, "renamed", "A Slack channel integration", "Slack", "webhook_url", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"},
		{"new webhook url and description", "i-slack1", `{"description":"d2","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/NEW"}}`, "renamed", "d2", "Slack", "webhook_url", "https://hooks.slack.com/services/NEW"},
		{"slack becomes teams", "i-slack1", `{"target":{"kind":"MsTeams","webhook_url":"https://admin.webhook.office.com/x"}}`, "renamed", "d2", "MsTeams", "webhook_url", "https://admin.webhook.office.com/x"},
		{"webhook becomes slack", "i-hook1", `{"target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/H"}}`, "Webhook integration", "A generic webhook", "Slack", "webhook_url", "https://hooks.slack.com/services/H"},
		{"empty body touches only updated_at", "i-hook1", `{}`, "Webhook integration", "A generic webhook", "Slack", "webhook_url", "https://hooks.slack.com/services/H"},
	}
	for _, st := range steps {
		clock.Advance(time.Second)
		w := serve(s, "PATCH", "/notifications/v1/integrations/"+st.id, st.body)
		if w.Code != 200 {
			t.Fatalf("%s: status %d: %s", st.name, w.Code, w.Body)
		}
		m := decodeMap(t, w)
		got := []any{path(m, "api_version"), path(m, "kind"), path(m, "id"), path(m, "display_name"), path(m, "description"),
			path(m, "target", "kind"), path(m, "target", st.urlKey), path(m, "metadata", "updated_at"), path(m, "metadata", "self")}
		want := []any{"notifications/v1", "Integration", st.id, st.wantName, st.wantDesc, st.wantKind, st.wantU,
			clock.Now().UTC().Format(time.RFC3339), DefaultBaseURL + "/notifications/v1/integrations/" + st.id}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: field %d = %v, want %v", st.name, i, got[i], want[i])
			}
		}
		if tgt, _ := path(m, "target").(map[string]any); len(tgt) != 2 {
			t.Errorf("%s: target %v, want exactly kind and %s", st.name, tgt, st.urlKey)
		}
		stored, _ := s.Integration(st.id)
		if stored.DisplayName != st.wantName || stored.Target["kind"] != st.wantKind {
			t.Errorf("%s: stored %+v", st.name, stored)
		}
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	s, _ := newSim(t, Options{})
	p, _ := s.Peering("p-demo1")
	p.Cloud["kind"] = "Changed"
	p.Cloud["routes"].([]any)[0] = "0.0.0.0/0"
	i, _ := s.Integration("i-slack1")
	i.Target["kind"] = "Changed"
	p2, _ := s.Peering("p-demo1")
	i2, _ := s.Integration("i-slack1")
	if p2.Cloud["kind"] != "AwsPeering" || p2.Cloud["routes"].([]any)[0] != "10.108.16.0/21" || i2.Target["kind"] != "Slack" {
		t.Errorf("store changed through a returned copy: %+v %+v", p2.Cloud, i2.Target)
	}
	if _, ok := s.Peering("p-nope"); ok {
		t.Error("Peering(p-nope) found")
	}
}

func TestSeedDemo(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, id := range []string{"p-demo1", "p-demo2", "p-demo3"} {
		if p, ok := s.Peering(id); !ok || p.EnvironmentID != DemoEnvironment || p.Phase != "READY" || p.Cloud["kind"] == nil {
			t.Errorf("demo peering %s = %+v, %v", id, p, ok)
		}
	}
	for id, kind := range map[string]string{"i-slack1": "Slack", "i-hook1": "Webhook", "i-role1": "RoleEmail"} {
		if i, ok := s.Integration(id); !ok || i.Target["kind"] != kind {
			t.Errorf("demo integration %s = %+v, %v; want kind %s", id, i, ok, kind)
		}
	}
}
