package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/app"
)

// TestWorkerRefusesALeaseNotLongerThanTheCall: PATCHBAY_ACK_WAIT must exceed
// CCLOUD_TIMEOUT by a margin; the error names both, before any connection.
func TestWorkerRefusesALeaseNotLongerThanTheCall(t *testing.T) {
	cfg := app.WorkerConfig{
		NATS:   app.NATSConfig{URL: "nats://127.0.0.1:1", Replicas: 1, AckWait: 30 * time.Second},
		CCloud: app.CCloudConfig{URL: "http://127.0.0.1:1", APIKey: "k", APISecret: "s", Timeout: 30 * time.Second},
		Retry:  app.RetryConfig{MaxErrorAttempts: 1, MaxAge: time.Hour, MaxRateLimitWait: time.Minute, BackoffBase: time.Second, BackoffMax: time.Second},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := app.NewWorker(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "PATCHBAY_ACK_WAIT") || !strings.Contains(err.Error(), "CCLOUD_TIMEOUT") {
		t.Fatalf("error %v, want one naming PATCHBAY_ACK_WAIT and CCLOUD_TIMEOUT", err)
	}
	if ctx.Err() != nil {
		t.Fatal("refused only after trying to connect")
	}
}
