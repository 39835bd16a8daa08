package redact_test

import (
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/redact"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{name: "plain text", in: "the peering is not ready", want: "the peering is not ready"},
		{name: "slack URL in a detail", in: "webhook https://hooks.slack.com/services/T0/B0/XSECRET returned 404",
			want: "webhook [REDACTED] returned 404"},
		{name: "teams URL", in: "target https://x.webhook.office.com/webhookb2/XSECRET is gone", want: "target [REDACTED] is gone"},
		{name: "webhook URL credentials and query", in: `url "https://bob:XSECRET@example.com/hook?token=XSECRET" refused`,
			want: `url "https://%5BREDACTED%5D@example.com/hook?[REDACTED]" refused`},
		{name: "plain URL kept", in: "see https://docs.confluent.io/cloud/current/api.html for details",
			want: "see https://docs.confluent.io/cloud/current/api.html for details"},
		{name: "nats URL with password", in: "connect nats://u:XSECRET@n1:4222 failed", want: "connect nats://%5BREDACTED%5D@n1:4222 failed"},
		{name: "bearer token", in: "Authorization: Bearer XSECRET-0123456789", want: "Authorization: Bearer [REDACTED]"},
		{name: "lower-case bearer", in: "bearer abcdefghijklmnopqrstXSECRET", want: "bearer [REDACTED]"},
		{name: "basic credentials", in: "sent Basic c2ltLWtleTpYU0VDUkVU", want: "sent Basic [REDACTED]"},
		{name: "prose after basic kept", in: "Basic authentication is required", want: "Basic authentication is required"},
		{name: "known secret", in: "secret XSECRET leaked", secrets: []string{"XSECRET"}, want: "secret [REDACTED] leaked"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Text(tt.in, tt.secrets...)
			if got != tt.want {
				t.Fatalf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "XSECRET") {
				t.Fatalf("Text(%q) leaks: %q", tt.in, got)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	t.Parallel()
	in := apierror.Error{
		ID: "e-1", Status: "422", Code: "invalid_webhook", Title: "Bad target https://hooks.slack.com/services/XSECRET",
		Detail: "could not reach https://u:XSECRET@hooks.example.com/x?sig=XSECRET",
		Source: &apierror.Source{Pointer: "/target/url"},
	}
	orig := *in.Source
	got := redact.APIError(in)
	for _, s := range []string{got.ID, got.Status, got.Code, got.Title, got.Detail, got.Source.Pointer} {
		if strings.Contains(s, "XSECRET") {
			t.Fatalf("APIError leaks: %+v", got)
		}
	}
	if got.Status != "422" || got.Code != "invalid_webhook" || got.Source.Pointer != "/target/url" {
		t.Fatalf("APIError changed plain fields: %+v", got)
	}
	if *in.Source != orig {
		t.Fatal("APIError modified its input's source")
	}
}
