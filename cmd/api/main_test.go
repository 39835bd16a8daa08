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
// the api exit non-zero within a second with one line naming it.
func TestBadConfigurationExitsAtOnce(t *testing.T) {
	cases := []struct{ variable, value string }{
		{"PATCHBAY_ACK_WAIT", "-1s"},
		{"NATS_URL", "not a url"},
		{"MAX_BODY_BYTES", "1"},
		{"API_TOKENS", ""},
	}
	for _, tc := range cases {
		t.Run(tc.variable, func(t *testing.T) {
			env := map[string]string{
				"NATS_URL": "nats://127.0.0.1:1", "API_TOKENS": "ci=0123456789abcdef-token",
				"HTTP_ADDR": "127.0.0.1:0", "METRICS_ADDR": "127.0.0.1:0",
				tc.variable: tc.value,
			}
			testkit.ExpectConfigError(t, env, tc.variable)
		})
	}
}
