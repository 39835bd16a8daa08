package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-envconfig"

	"github.com/patchbay/patchbay/internal/app"
)

// A bad RATELIMIT_* value stops the worker at start with one line naming
// the variable, before any connection is attempted.
func TestWorkerRefusesBadRateLimitConfig(t *testing.T) {
	for name, want := range map[string]string{
		"RATELIMIT_MARGIN":  "5",
		"RATELIMIT_SCOPE":   "org/one",
		"RATELIMIT_SPREAD":  "1.5",
		"RATELIMIT_HORIZON": "-1s",
	} {
		env := map[string]string{
			"NATS_URL": "nats://127.0.0.1:1", "CCLOUD_API_KEY": "key", "CCLOUD_API_SECRET": "secret", name: want,
		}
		var cfg app.WorkerConfig
		if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &cfg, Lookuper: envconfig.MapLookuper(env)}); err != nil {
			t.Fatalf("%s=%s: load: %v", name, want, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := app.NewWorker(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
		cancel()
		if err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Fatalf("%s=%s: error %v, want one starting %q", name, want, err, name+": ")
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s=%s: refused only after %v (a connection was attempted)", name, want, time.Since(start))
		}
	}
}
