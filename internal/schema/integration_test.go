package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateIntegrationUpdate(t *testing.T) {
	name64, name65 := strings.Repeat("ü", 64), strings.Repeat("ü", 65)
	desc128, desc129 := strings.Repeat("x", 128), strings.Repeat("日", 129)
	tests := []validationCase{
		{name: "empty object", body: `{}`},
		{name: "display name only", body: `{"display_name":"Slack integration"}`},
		{name: "description only", body: `{"description":"A Slack channel integration"}`},
		{name: "display name 64 code points", body: `{"display_name":"` + name64 + `"}`},
		{name: "description 128", body: `{"description":"` + desc128 + `"}`},
		{name: "empty strings", body: `{"display_name":"","description":""}`},
		{name: "slack", body: `{"display_name":"n","description":"d","target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/services/T/B/X"}}`},
		{name: "teams", body: `{"target":{"webhook_url":"https://admin.webhook.office.com/webhookb2/a/IncomingWebhook/b","kind":"MsTeams"}}`},
		{name: "webhook http with port", body: `{"target":{"kind":"Webhook","url":"http://example.com:8080/hook?x=1"}}`},
		{name: "webhook upper-case scheme", body: `{"target":{"kind":"Webhook","url":"HTTPS://example.com/"}}`},
		{name: "display name too long", body: `{"display_name":"` + name65 + `"}`, status: 422, want: []want{{CodeTooLong, "/display_name"}}},
		{name: "description too long", body: `{"description":"` + desc129 + `"}`, status: 422, want: []want{{CodeTooLong, "/description"}}},
		{name: "display name number", body: `{"display_name":3}`, status: 422, want: []want{{CodeInvalidType, "/display_name"}}},
		{name: "description null", body: `{"description":null}`, status: 422, want: []want{{CodeInvalidType, "/description"}}},
		{name: "target null", body: `{"target":null}`, status: 422, want: []want{{CodeInvalidType, "/target"}}},
		{name: "target string", body: `{"target":"Slack"}`, status: 422, want: []want{{CodeInvalidType, "/target"}}},
		{name: "target kind missing", body: `{"target":{"webhook_url":"https://a.b/"}}`, status: 422, want: []want{{CodeRequired, "/target/kind"}}},
		{name: "target kind number", body: `{"target":{"kind":1}}`, status: 422, want: []want{{CodeInvalidType, "/target/kind"}}},
		{name: "target kind null", body: `{"target":{"kind":null}}`, status: 422, want: []want{{CodeInvalidType, "/target/kind"}}},
		{name: "target kind unknown", body: `{"target":{"kind":"Email","url":"https://a.b/"}}`, status: 422, want: []want{{CodeInvalidEnum, "/target/kind"}}},
		{name: "target kind wrong case", body: `{"target":{"kind":"slack","webhook_url":"https://a.b/"}}`, status: 422, want: []want{{CodeInvalidEnum, "/target/kind"}}},
		{name: "role email", body: `{"target":{"kind":"RoleEmail","role_name":"OrganizationAdmin"}}`, status: 422, want: []want{{CodeNotUpdatable, "/target/kind"}}},
		{name: "user email", body: `{"target":{"kind":"UserEmail","user":{"id":"u-1"}}}`, status: 422, want: []want{{CodeNotUpdatable, "/target/kind"}}},
		{name: "in app", body: `{"target":{"kind":"InApp","user":{"id":"u-1"}}}`, status: 422, want: []want{{CodeNotUpdatable, "/target/kind"}}},
		{name: "slack without url", body: `{"target":{"kind":"Slack"}}`, status: 422, want: []want{{CodeRequired, "/target/webhook_url"}}},
		{name: "teams without url", body: `{"target":{"kind":"MsTeams"}}`, status: 422, want: []want{{CodeRequired, "/target/webhook_url"}}},
		{name: "webhook without url", body: `{"target":{"kind":"Webhook"}}`, status: 422, want: []want{{CodeRequired, "/target/url"}}},
		{name: "slack with webhook's url", body: `{"target":{"kind":"Slack","url":"https://a.b/"}}`, status: 422, want: []want{{CodeUnknownField, "/target/url"}, {CodeRequired, "/target/webhook_url"}}},
		{name: "webhook with slack's url", body: `{"target":{"webhook_url":"https://a.b/","kind":"Webhook","url":"https://a.b/"}}`, status: 422, want: []want{{CodeUnknownField, "/target/webhook_url"}}},
		{name: "slack with role_name", body: `{"target":{"kind":"Slack","webhook_url":"https://a.b/","role_name":"x"}}`, status: 422, want: []want{{CodeUnknownField, "/target/role_name"}}},
		{name: "url number", body: `{"target":{"kind":"Webhook","url":42}}`, status: 422, want: []want{{CodeInvalidType, "/target/url"}}},
		{name: "url null", body: `{"target":{"kind":"Slack","webhook_url":null}}`, status: 422, want: []want{{CodeInvalidType, "/target/webhook_url"}}},
		{name: "url relative", body: `{"target":{"kind":"Webhook","url":"/hook"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url empty", body: `{"target":{"kind":"Webhook","url":""}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url ftp", body: `{"target":{"kind":"Webhook","url":"ftp://example.com/x"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url javascript", body: `{"target":{"kind":"Slack","webhook_url":"javascript:alert(1)"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/webhook_url"}}},
		{name: "url without host", body: `{"target":{"kind":"Webhook","url":"https:///path"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url port only", body: `{"target":{"kind":"Webhook","url":"http://:80/"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url opaque", body: `{"target":{"kind":"Webhook","url":"https:example.com"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "url unparsable", body: `{"target":{"kind":"Webhook","url":"http://exa mple.com/"}}`, status: 422, want: []want{{CodeInvalidURL, "/target/url"}}},
		{name: "read-only fields", body: `{"api_version":"notifications/v1","kind":"Integration","id":"i-1","metadata":{}}`, status: 422,
			want: []want{{CodeReadOnlyField, "/api_version"}, {CodeReadOnlyField, "/kind"}, {CodeReadOnlyField, "/id"}, {CodeReadOnlyField, "/metadata"}}},
		{name: "status is unknown for integrations", body: `{"status":{}}`, status: 422, want: []want{{CodeUnknownField, "/status"}}},
		{name: "unknown field", body: `{"displayName":"x"}`, status: 422, want: []want{{CodeUnknownField, "/displayName"}}},
		{name: "all problems in document order", body: `{"target":{"url":"x","kind":"Webhook","extra":1},"display_name":"` + name65 + `","id":"i","description":7,"foo":null}`, status: 422,
			want: []want{{CodeInvalidURL, "/target/url"}, {CodeUnknownField, "/target/extra"}, {CodeTooLong, "/display_name"}, {CodeReadOnlyField, "/id"}, {CodeInvalidType, "/description"}, {CodeUnknownField, "/foo"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, ValidateIntegrationUpdate([]byte(tt.body)), tt.status, tt.want)
		})
	}
}

func TestNotUpdatableDetail(t *testing.T) {
	err := ValidateIntegrationUpdate([]byte(`{"target":{"kind":"RoleEmail","role_name":"x"}}`))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("want *Error, got %v", err)
	}
	d := se.Envelope.Errors[0].Detail
	if !strings.Contains(d, "only Webhook, Slack and MsTeams integrations can be updated") {
		t.Errorf("detail = %q, want it to say only Webhook, Slack and MsTeams integrations can be updated", d)
	}
}

func TestDetailsNeverEchoSecretValues(t *testing.T) {
	const secret = "T0SECRET/B0SECRET/xoxbSECRET"
	bodies := []string{
		`{"target":{"kind":"Slack","webhook_url":"ftp://hooks.slack.com/services/` + secret + `"}}`,
		`{"target":{"kind":"MsTeams","webhook_url":"hooks.example.com/` + secret + `"}}`,
		`{"target":{"kind":"Webhook","url":"https://x/` + secret + `","webhook_url":"https://x/` + secret + `"}}`,
		`{"target":{"kind":"Nope","url":"https://x/` + secret + `"}}`,
		`{"display_name":"` + secret + strings.Repeat("x", 64) + `"}`,
	}
	for _, b := range bodies {
		err := ValidateIntegrationUpdate([]byte(b))
		if err == nil {
			t.Fatalf("body %s: want an error", b)
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("body %s: want *Error, got %v", b, err)
		}
		for _, e := range se.Envelope.Errors {
			if strings.Contains(e.Detail, "SECRET") || strings.Contains(e.Title, "SECRET") {
				t.Errorf("body %s: problem %+v echoes the secret", b, e)
			}
		}
	}
}
