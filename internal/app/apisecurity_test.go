package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-envconfig"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/topology"
)

func TestAPIConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	var cfg app.APIConfig
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{
		Target:   &cfg,
		Lookuper: envconfig.MapLookuper(map[string]string{"API_CALLERS_FILE": "/etc/patchbay/callers.json", "TRUSTED_PROXIES": "10.0.0.0/8"}),
	}); err != nil {
		t.Fatal(err)
	}
	if cfg.CallersFile != "/etc/patchbay/callers.json" || cfg.TrustedProxies != "10.0.0.0/8" ||
		cfg.IntakeRateLimit != 50 || cfg.IntakeRateBurst != 100 || cfg.MaxLongPolls != 256 || cfg.LookupEnv != nil {
		t.Fatalf("config = %+v", cfg)
	}
}

// TestAPIRefusesBadSecurityConfig checks that each bad setting stops the
// api at start with an error naming the variable (before NATS is needed).
func TestAPIRefusesBadSecurityConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"callers":[{"name":"jira","token_sha256":"`+sha256Hex(testToken)+`","operations":["changes.read"]}]}`)
	tests := []struct {
		name    string
		mutate  func(*app.APIConfig)
		wantErr string
	}{
		{name: "missing callers file", mutate: func(c *app.APIConfig) { c.CallersFile = filepath.Join(dir, "nope.json") }, wantErr: "API_CALLERS_FILE:"},
		{name: "callers file not JSON", mutate: func(c *app.APIConfig) { c.CallersFile = write("bad.json", "callers:\n") }, wantErr: "API_CALLERS_FILE:"},
		{name: "callers file with an unknown operation", mutate: func(c *app.APIConfig) {
			c.CallersFile = write("op.json", `{"callers":[{"name":"x","token_sha256":"`+sha256Hex("x")+`","operations":["delete.everything"]}]}`)
		}, wantErr: "API_CALLERS_FILE:"},
		{name: "webhook secret variable unset", mutate: func(c *app.APIConfig) {
			c.CallersFile = write("env.json", `{"callers":[{"name":"x","webhook_secret_env":"NOT_SET_ANYWHERE","operations":["changes.read"]}]}`)
			c.LookupEnv = func(string) (string, bool) { return "", false }
		}, wantErr: "API_CALLERS_FILE:"},
		{name: "callers file repeats an API_TOKENS name", mutate: func(c *app.APIConfig) {
			c.APITokens = "jira=another-token-0123456789"
			c.CallersFile = good
		}, wantErr: "API_CALLERS_FILE:"},
		{name: "bad API_TOKENS", mutate: func(c *app.APIConfig) { c.APITokens = "jira=short" }, wantErr: "API_TOKENS:"},
		{name: "no callers at all", mutate: func(c *app.APIConfig) { c.APITokens = "" }, wantErr: "API_TOKENS:"},
		{name: "negative rate limit", mutate: func(c *app.APIConfig) { c.IntakeRateLimit = -1 }, wantErr: "INTAKE_RATE_LIMIT:"},
		{name: "negative burst", mutate: func(c *app.APIConfig) { c.IntakeRateBurst = -1 }, wantErr: "INTAKE_RATE_BURST:"},
		{name: "negative long-poll cap", mutate: func(c *app.APIConfig) { c.MaxLongPolls = -1 }, wantErr: "MAX_LONG_POLLS:"},
		{name: "bad trusted proxy", mutate: func(c *app.APIConfig) { c.TrustedProxies = "10.0.0.0/8,proxy.local" }, wantErr: "TRUSTED_PROXIES:"},
		{name: "body limit too small", mutate: func(c *app.APIConfig) { c.MaxBodyBytes = 10 }, wantErr: "MAX_BODY_BYTES:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := app.APIConfig{
				NATS:      topology.Settings{URL: "nats://127.0.0.1:1", Replicas: 1},
				APITokens: "ops=" + testToken, MaxBodyBytes: 64 << 10,
			}
			tt.mutate(&cfg)
			api, err := app.NewAPI(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
			if err == nil {
				api.Close()
				t.Fatal("NewAPI succeeded")
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %q, want it to start with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "another-token") {
				t.Fatalf("error leaks a token: %v", err)
			}
		})
	}
}
