// Package app is Patchbay's composition root: it assembles the api, the worker and the notifier
// from their environment configuration, and runs them with graceful
// shutdown. cmd/api, cmd/worker and the all-in-one dev command are thin
// wrappers around it.
package app

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/slackapp"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/worker"
)

// APIConfig configures cmd/api.
type APIConfig struct {
	NATS         topology.Settings
	HTTPAddr     string `env:"HTTP_ADDR, default=:8080"`
	MetricsAddr  string `env:"METRICS_ADDR, default=:9464"`
	APITokens    string `env:"API_TOKENS" json:"-"`
	InsecureAuth bool   `env:"PATCHBAY_INSECURE_NO_AUTH, default=false"`
	MaxBodyBytes int64  `env:"MAX_BODY_BYTES, default=65536"`
	LogLevel     string `env:"LOG_LEVEL, default=info"`
	// CallersFile is the JSON file of callers with scopes (see README).
	CallersFile string `env:"API_CALLERS_FILE"`
	// IntakeRateLimit is each caller's limit in requests/s (0: none) and
	// IntakeRateBurst its burst.
	IntakeRateLimit float64 `env:"INTAKE_RATE_LIMIT, default=50"`
	IntakeRateBurst int     `env:"INTAKE_RATE_BURST, default=100"`
	// MaxLongPolls caps concurrent ?wait= long-polls (0 means 256).
	MaxLongPolls int `env:"MAX_LONG_POLLS, default=256"`
	// TrustedProxies are CIDRs whose X-Forwarded-For names the client.
	TrustedProxies string `env:"TRUSTED_PROXIES"`
	// Slack is the Slack app (enabled by SLACK_SIGNING_SECRET).
	Slack slackapp.Config
	// LookupEnv resolves the callers file's webhook_secret_env references;
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool) `json:"-"`
}

// WorkerConfig configures cmd/worker.
type WorkerConfig struct {
	NATS   topology.Settings
	CCloud ccloud.Settings
	Retry  retry.Settings
	// RateLimit is the fleet-wide rate-limit gate's own configuration
	// (RATELIMIT_*).
	RateLimit     gate.Config
	MetricsAddr   string        `env:"METRICS_ADDR, default=:9465"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE, default=25s"`
	LogLevel      string        `env:"LOG_LEVEL, default=info"`
	// Concurrency is how many changes one worker runs at once (0 means 64).
	Concurrency int `env:"WORKER_CONCURRENCY, default=64"`
	// Hooks are test-only interception points inside the worker.
	Hooks worker.Hooks `json:"-"`
}

// NewLogger returns a JSON slog logger at the named level.
func NewLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
