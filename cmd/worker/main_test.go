package main

import (
	"os"
	"testing"

	"github.com/patchbay/patchbay/internal/testkit"
)

// TestMain lets a test run this binary's main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(testkit.RunMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestBadConfigurationExitsAtOnce: with NATS down, each bad variable makes
// the worker exit non-zero within a second, printing one line that names it
// (before, some were checked only after NATS answered, so the worker waited
// forever, or named another variable).
func TestBadConfigurationExitsAtOnce(t *testing.T) {
	cases := []struct{ variable, value string }{
		{"CCLOUD_TIMEOUT", "-1s"},
		{"CCLOUD_API_KEY", "key:with:colons"},
		{"CCLOUD_API_URL", "ftp://example.com"},
		{"RATELIMIT_MARGIN", "5"},
		{"PATCHBAY_ACK_WAIT", "-1s"},
		{"PATCHBAY_ACK_WAIT", "31s"}, // not CCLOUD_TIMEOUT (30s) + the lease margin
		{"WORKER_CONCURRENCY", "0"},
		{"PATCHBAY_MAX_ACK_PENDING", "-1"},
		{"RETRY_MAX_ATTEMPTS", "0"},
		{"RETRY_BACKOFF_MAX", "1ms"},
		{"NATS_REPLICAS", "7"},
		{"NATS_URL", "http://127.0.0.1:1"},
		{"LOG_LEVEL", "loud"},
	}
	for _, tc := range cases {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			testkit.ExpectConfigError(t, workerEnv(map[string]string{tc.variable: tc.value}), tc.variable)
		})
	}
}

// workerEnv is a valid worker environment (NATS unreachable) plus extra.
func workerEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"NATS_URL":          "nats://127.0.0.1:1",
		"CCLOUD_API_KEY":    "key",
		"CCLOUD_API_SECRET": "secret",
		"METRICS_ADDR":      "127.0.0.1:0",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}
