package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Addr: ":0", APIKey: "k", APISecret: "s", RatePeriod: time.Second}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantVar string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"empty key", func(c *Config) { c.APIKey = "" }, "SIM_API_KEY"},
		{"empty secret", func(c *Config) { c.APISecret = "" }, "SIM_API_SECRET"},
		{"negative limit", func(c *Config) { c.RateLimit = -1 }, "SIM_RATE_LIMIT"},
		{"zero period", func(c *Config) { c.RatePeriod = 0 }, "SIM_RATE_PERIOD"},
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		err := c.validate()
		if tt.wantVar == "" && err != nil || tt.wantVar != "" && (err == nil || !strings.Contains(err.Error(), tt.wantVar)) {
			t.Errorf("%s: validate() = %v, want an error naming %q", tt.name, err, tt.wantVar)
		}
	}
}

func TestRealMainRejectsBadConfig(t *testing.T) {
	t.Setenv("SIM_RATE_PERIOD", "-1s")
	if err := realMain(context.Background()); err == nil || !strings.Contains(err.Error(), "SIM_RATE_PERIOD") {
		t.Fatalf("realMain = %v, want an error naming SIM_RATE_PERIOD", err)
	}
}

func TestRealMainShutsDownOnCancel(t *testing.T) {
	t.Setenv("SIM_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- realMain(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("realMain = %v, want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("realMain did not return after cancel")
	}
}
