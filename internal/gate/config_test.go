package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestDefaultConfig(t *testing.T) {
	got := DefaultConfig()
	want := Config{Margin: 0, Spread: 0.8, ProbeInterval: 250 * time.Millisecond, Horizon: 10 * time.Second}
	if got != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if (Config{}).WithDefaults() != want {
		t.Fatalf("zero config with defaults = %+v", (Config{}).WithDefaults())
	}
}

// Each variable loads from the environment, and a bad value is refused
// with an error that names the variable.
func TestConfigFromEnv(t *testing.T) {
	cases := []struct {
		env     map[string]string
		wantErr string // prefix; "" = valid
		check   func(Config) bool
	}{
		{env: map[string]string{"RATELIMIT_SCOPE": "org-9bb441c4_main"}, check: func(c Config) bool { return c.Scope == "org-9bb441c4_main" }},
		{env: map[string]string{"RATELIMIT_MARGIN": "0.1", "RATELIMIT_SPREAD": "1"}, check: func(c Config) bool { return c.Margin == 0.1 && c.Spread == 1 }},
		{env: map[string]string{"RATELIMIT_HORIZON": "30s"}, check: func(c Config) bool { return c.Horizon == 30*time.Second }},
		{env: map[string]string{"RATELIMIT_MARGIN": "5"}, wantErr: "RATELIMIT_MARGIN: "},
		{env: map[string]string{"RATELIMIT_MARGIN": "-0.1"}, wantErr: "RATELIMIT_MARGIN: "},
		{env: map[string]string{"RATELIMIT_SPREAD": "0"}, wantErr: "RATELIMIT_SPREAD: "},
		{env: map[string]string{"RATELIMIT_SPREAD": "1.5"}, wantErr: "RATELIMIT_SPREAD: "},
		{env: map[string]string{"RATELIMIT_PROBE_INTERVAL": "-1s"}, wantErr: "RATELIMIT_PROBE_INTERVAL: "},
		{env: map[string]string{"RATELIMIT_HORIZON": "0s"}, wantErr: "RATELIMIT_HORIZON: "},
		{env: map[string]string{"RATELIMIT_SCOPE": "org/one"}, wantErr: "RATELIMIT_SCOPE: "},
		{env: map[string]string{"RATELIMIT_SCOPE": "org.one"}, wantErr: "RATELIMIT_SCOPE: "},
		{env: map[string]string{"RATELIMIT_SCOPE": strings.Repeat("a", 65)}, wantErr: "RATELIMIT_SCOPE: "},
	}
	for _, c := range cases {
		var cfg Config
		if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &cfg, Lookuper: envconfig.MapLookuper(c.env)}); err != nil {
			t.Fatalf("%v: load: %v", c.env, err)
		}
		err := cfg.Validate()
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.wantErr == "" && !c.check(cfg):
			t.Errorf("%v: loaded %+v", c.env, cfg)
		case c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)):
			t.Errorf("%v: error %v, want one starting %q", c.env, err, c.wantErr)
		}
	}
}
