package ccloud_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Seed examples, assembled from the examples in the two OpenAPI pages.
const (
	seedPeeringRequest = `{"spec":{"display_name":"prod-peering-use1","cloud":{"kind":"AwsPeering","account":"000000000000",` +
		`"vpc":"vpc-00000000000000000","routes":["10.108.16.0/21"],"customer_region":"us-east-1"},` +
		`"environment":{"id":"env-00000"},"network":{"id":"string","environment":"string"}}}`

	seedPeeringResponse = `{"api_version":"networking/v1","kind":"Peering","id":"p-12345",` +
		`"metadata":{"self":"https://api.confluent.cloud/networking/v1/peerings/p-12345",` +
		`"resource_name":"crn://confluent.cloud/organization=9bb441c4-edef-46ac-8a41-c49e44a3fd9a/environment=env-abc123/network=n-456xyz/peering=p-12345",` +
		`"created_at":"2006-01-02T15:04:05-07:00","updated_at":"2006-01-02T15:04:05-07:00","deleted_at":"2006-01-02T15:04:05-07:00"},` +
		`"spec":{"display_name":"prod-peering-use1",` +
		`"cloud":{"kind":"GcpPeering","project":"my-gcp-project","vpc_network":"my-gcp-network","import_custom_routes":true},` +
		`"environment":{"id":"env-00000","related":"https://api.confluent.cloud/v2/environments/env-00000",` +
		`"resource_name":"https://api.confluent.cloud/organization=9bb441c4-edef-46ac-8a41-c49e44a3fd9a/environment=env-00000"},` +
		`"network":{"id":"n-00000","related":"https://api.confluent.cloud/networking/v1/networks/n-00000",` +
		`"resource_name":"https://api.confluent.cloud/organization=9bb441c4-edef-46ac-8a41-c49e44a3fd9a/environment=env-abc123/network=n-00000"}},` +
		`"status":{"phase":"FAILED","error_code":"E1","error_message":"boom"}}`

	seedAzureCloud = `{"kind":"AzurePeering","tenant":"00000000000000000000000000000000",` +
		`"vnet":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg/providers/Microsoft.Network/virtualNetworks/my-vnet",` +
		`"customer_region":"eastus2"}`

	seedIntegrationRequest = `{"display_name":"Slack integration","description":"A Slack channel integration",` +
		`"target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/{id}/{id}/{id}"}}`

	seedIntegrationResponse = `{"api_version":"notifications/v1","kind":"Integration","id":"i-12345",` +
		`"metadata":{"self":"https://api.confluent.cloud/notifications/v1/integrations/i-12345",` +
		`"resource_name":"crn://confluent.cloud/organization=9bb441c4-edef-46ac-8a41-c49e44a3fd9a/integration=i-12345",` +
		`"created_at":"2006-01-02T15:04:05-07:00"},` +
		`"display_name":"Slack integration","description":"A Slack channel integration",` +
		`"target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/{id}/{id}/{id}"}}`
)

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// roundTrip unmarshals in into a new T and marshals it back.
func roundTrip[T any](t *testing.T, in string) (T, []byte) {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatalf("unmarshal into %T: %v", v, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return v, out
}

func TestPeeringSeedsRoundTrip(t *testing.T) {
	t.Parallel()
	req, out := roundTrip[ccloud.Peering](t, seedPeeringRequest)
	if !sameJSON(t, out, []byte(seedPeeringRequest)) {
		t.Errorf("request example changed:\n got %s\nwant %s", out, seedPeeringRequest)
	}
	aws := req.Spec.Cloud.AWS
	if req.Spec.Cloud.Kind != ccloud.CloudKindAWS || aws == nil || aws.Account != "000000000000" ||
		!reflect.DeepEqual(aws.Routes, []string{"10.108.16.0/21"}) || aws.CustomerRegion != "us-east-1" {
		t.Errorf("AWS cloud = %+v", req.Spec.Cloud)
	}

	p, out := roundTrip[ccloud.Peering](t, seedPeeringResponse)
	if !sameJSON(t, out, []byte(seedPeeringResponse)) {
		t.Errorf("response example changed:\n got %s\nwant %s", out, seedPeeringResponse)
	}
	wantTime := time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", -7*3600))
	if p.Status.Phase != ccloud.PhaseFailed || p.Spec.Cloud.GCP == nil || p.Spec.Cloud.GCP.ImportCustomRoutes == nil ||
		!*p.Spec.Cloud.GCP.ImportCustomRoutes || p.Spec.Network.ID != "n-00000" || !p.Metadata.CreatedAt.Equal(wantTime) {
		t.Errorf("decoded peering = %+v", p)
	}

	az, out := roundTrip[ccloud.PeeringCloud](t, seedAzureCloud)
	if string(out) != seedAzureCloud || az.Azure == nil || az.Azure.CustomerRegion != "eastus2" {
		t.Errorf("azure = %+v, %s", az, out)
	}
}

func TestPeeringUpdateBody(t *testing.T) {
	t.Parallel()
	name := "prod"
	tests := []struct {
		in   ccloud.PeeringUpdate
		want string
	}{
		{ccloud.PeeringUpdate{Spec: ccloud.PeeringSpecUpdate{DisplayName: &name, Environment: ccloud.EnvScopedRef{ID: "env-1"}}},
			`{"spec":{"display_name":"prod","environment":{"id":"env-1"}}}`},
		{ccloud.PeeringUpdate{Spec: ccloud.PeeringSpecUpdate{Environment: ccloud.EnvScopedRef{ID: "env-1", Environment: "e"}}},
			`{"spec":{"environment":{"id":"env-1","environment":"e"}}}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("Marshal = %s, %v; want %s", got, err, tt.want)
		}
	}
}

func TestIntegrationSeedsRoundTrip(t *testing.T) {
	t.Parallel()
	upd, out := roundTrip[ccloud.IntegrationUpdate](t, seedIntegrationRequest)
	if !sameJSON(t, out, []byte(seedIntegrationRequest)) {
		t.Errorf("request example changed:\n got %s\nwant %s", out, seedIntegrationRequest)
	}
	if upd.Target == nil || upd.Target.Slack == nil || upd.Target.Slack.WebhookURL != "https://hooks.slack.com/services/{id}/{id}/{id}" {
		t.Errorf("target = %+v", upd.Target)
	}
	integ, out := roundTrip[ccloud.Integration](t, seedIntegrationResponse)
	if !sameJSON(t, out, []byte(seedIntegrationResponse)) {
		t.Errorf("response example changed:\n got %s\nwant %s", out, seedIntegrationResponse)
	}
	if integ.ID != "i-12345" || integ.Target.Kind != ccloud.TargetKindSlack {
		t.Errorf("integration = %+v", integ)
	}
	if out, _ := json.Marshal(ccloud.IntegrationUpdate{}); string(out) != `{}` {
		t.Errorf("empty update = %s", out)
	}
}

func TestTargetKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(ccloud.Target) bool
	}{
		{"Slack", `{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/a/b/c"}`,
			func(tg ccloud.Target) bool {
				return tg.Slack != nil && tg.Slack.WebhookURL == "https://hooks.slack.com/services/a/b/c"
			}},
		{"Webhook", `{"kind":"Webhook","url":"https://my.webhook.url/x"}`,
			func(tg ccloud.Target) bool { return tg.Webhook != nil && tg.Webhook.URL == "https://my.webhook.url/x" }},
		{"MsTeams", `{"kind":"MsTeams","webhook_url":"https://admin.webhook.office.com/webhookb2/x/IncomingWebhook/y"}`,
			func(tg ccloud.Target) bool { return tg.MsTeams != nil && tg.MsTeams.WebhookURL != "" }},
		{"RoleEmail", `{"kind":"RoleEmail","role_name":"OrganizationAdmin"}`,
			func(tg ccloud.Target) bool {
				return tg.RoleEmail != nil && tg.RoleEmail.RoleName == "OrganizationAdmin"
			}},
		{"UserEmail", `{"kind":"UserEmail","user":{"id":"u-1","related":"https://api.confluent.cloud/iam/v2/users/u-1","resource_name":"crn://confluent.cloud/user=u-1"}}`,
			func(tg ccloud.Target) bool { return tg.UserEmail != nil && tg.UserEmail.User.ID == "u-1" }},
		{"InApp", `{"kind":"InApp","user":{"id":"u-2"}}`,
			func(tg ccloud.Target) bool { return tg.InApp != nil && tg.InApp.User.ID == "u-2" }},
		{"unknown kind preserved", `{"kind":"PagerDuty","routing_key":"abc","extra":{"nested":[1,2,{"x":null}]},"n":1.50}`,
			func(tg ccloud.Target) bool { return tg.Kind == "PagerDuty" && len(tg.Raw) > 0 && tg.Slack == nil }},
		{"missing kind preserved", `{"webhook_url":"x"}`,
			func(tg ccloud.Target) bool { return tg.Kind == "" && len(tg.Raw) > 0 }},
	}
	for _, tt := range tests {
		tg, out := roundTrip[ccloud.Target](t, tt.in)
		if !tt.check(tg) {
			t.Errorf("%s: decoded %+v", tt.name, tg)
		}
		if string(out) != tt.in {
			t.Errorf("%s: round trip\n got %s\nwant %s", tt.name, out, tt.in)
		}
	}
	// An unknown target survives inside a whole Integration, too.
	in := `{"id":"i-1","display_name":"x","target":{"kind":"Future","k":[true]}}`
	if _, out := roundTrip[ccloud.Integration](t, in); string(out) != in {
		t.Errorf("integration with unknown target:\n got %s\nwant %s", out, in)
	}
}

func TestUnknownCloudKindPreserved(t *testing.T) {
	t.Parallel()
	in := `{"id":"p-1","spec":{"cloud":{"kind":"OciPeering","tenancy":"ocid1.x","routes":["10.0.0.0/8"],"opts":{"a":1}},"environment":{"id":"env-1"}}}`
	p, out := roundTrip[ccloud.Peering](t, in)
	if p.Spec.Cloud.Kind != "OciPeering" || p.Spec.Cloud.AWS != nil || len(p.Spec.Cloud.Raw) == 0 {
		t.Errorf("cloud = %+v", p.Spec.Cloud)
	}
	if string(out) != in {
		t.Errorf("round trip\n got %s\nwant %s", out, in)
	}
}

func TestUnionConstructorsAndErrors(t *testing.T) {
	t.Parallel()
	cons := []struct {
		tg   ccloud.Target
		want string
	}{
		{ccloud.NewSlackTarget("https://hooks.slack.com/services/a"), `{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/a"}`},
		{ccloud.NewWebhookTarget("https://w.example/x"), `{"kind":"Webhook","url":"https://w.example/x"}`},
		{ccloud.NewMsTeamsTarget("https://t.example/y"), `{"kind":"MsTeams","webhook_url":"https://t.example/y"}`},
		{ccloud.Target{}, `null`},
		{ccloud.Target{Kind: "Slack"}, `{"kind":"Slack"}`},
	}
	for _, c := range cons {
		got, err := json.Marshal(c.tg)
		if err != nil || string(got) != c.want {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.tg, got, err, c.want)
		}
	}
	bad := []string{`"Slack"`, `[1]`, `{"kind":"Slack","webhook_url":5}`, `{"kind":7}`}
	for _, in := range bad {
		var tg ccloud.Target
		if err := json.Unmarshal([]byte(in), &tg); err == nil {
			t.Errorf("Target %s: no error", in)
		}
		var pc ccloud.PeeringCloud
		if err := json.Unmarshal([]byte(in), &pc); err == nil && in != `{"kind":"Slack","webhook_url":5}` {
			t.Errorf("PeeringCloud %s: no error", in)
		}
	}
	var pc ccloud.PeeringCloud
	if err := json.Unmarshal([]byte(`{"kind":"AwsPeering","routes":"10.0.0.0/8"}`), &pc); err == nil {
		t.Error("AwsPeering with string routes: no error")
	}
	var tg ccloud.Target
	if err := json.Unmarshal([]byte(`null`), &tg); err != nil || !tg.IsZero() {
		t.Errorf("null target = %+v, %v", tg, err)
	}
}
