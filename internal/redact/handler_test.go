package redact_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/redact"
)

// stringer is a fmt.Stringer that reveals a secret.
type stringer string

func (s stringer) String() string { return string(s) }

func TestHandler(t *testing.T) {
	t.Parallel()
	const apiSecret = "API-SECRET-XSECRET"
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{name: "message", log: func(l *slog.Logger) { l.Info("calling with " + apiSecret) }},
		{name: "string attribute", log: func(l *slog.Logger) { l.Info("x", "detail", "secret is "+apiSecret) }},
		{name: "url attribute", log: func(l *slog.Logger) { l.Info("x", "target", "https://hooks.slack.com/services/T/B/XSECRET") }},
		{name: "error attribute", log: func(l *slog.Logger) { l.Error("x", "error", errors.New("Bearer XSECRET-0123456789 refused")) }},
		{name: "stringer attribute", log: func(l *slog.Logger) { l.Info("x", "cfg", stringer("secret="+apiSecret)) }},
		{name: "bytes attribute", log: func(l *slog.Logger) { l.Info("x", "body", []byte(`{"url":"https://h/x?t=XSECRET"}`)) }},
		{name: "secret-named attribute", log: func(l *slog.Logger) { l.Info("x", "api_token", "XSECRET") }},
		{name: "secret-named non-string attribute", log: func(l *slog.Logger) { l.Info("x", "webhook_url", stringer("XSECRET")) }},
		{name: "group", log: func(l *slog.Logger) {
			l.Info("x", slog.Group("upstream", "detail", "see https://x.webhook.office.com/XSECRET"))
		}},
		{name: "With attributes", log: func(l *slog.Logger) { l.With("detail", apiSecret).Info("x") }},
		{name: "WithGroup", log: func(l *slog.Logger) { l.WithGroup("g").Info("x", "detail", apiSecret) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			l := redact.NewLogger(slog.New(slog.NewJSONHandler(&buf, nil)), apiSecret, "ab")
			tt.log(l)
			out := buf.String()
			if out == "" {
				t.Fatal("nothing logged")
			}
			if strings.Contains(out, "XSECRET") {
				t.Fatalf("log line leaks a secret: %s", out)
			}
			if !strings.Contains(out, redact.Mask) {
				t.Fatalf("nothing masked: %s", out)
			}
		})
	}
}

func TestHandlerKeepsOrdinaryAttributes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := redact.NewLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Debug("hidden")
	l.Info("change accepted", "change_id", "chg_x", "resource", "/networking/v1/peerings/p-1", "attempt", 2,
		"addr", "nats://127.0.0.1:4222")
	want := `"msg":"change accepted","change_id":"chg_x","resource":"/networking/v1/peerings/p-1","attempt":2,"addr":"nats://127.0.0.1:4222"}`
	if got := buf.String(); !strings.Contains(got, want) || strings.Contains(got, "hidden") {
		t.Fatalf("log = %s, want it to contain %s", got, want)
	}
}
