// Package app is Patchbay's composition root: it assembles the api and the worker
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

	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/worker"
)

// NATSConfig is shared by the api and the worker; both must agree on it.
type NATSConfig struct {
	URL      string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	Replicas int    `env:"NATS_REPLICAS, default=1"`
	// Partitions is the retired PATCHBAY_PARTITIONS: order is kept per
	// resource, not per lane, so it is ignored (with a warning) when set.
	Partitions int `env:"PATCHBAY_PARTITIONS"`
	// AckWait is the lease of a delivered change between heartbeats; it
	// must exceed CCLOUD_TIMEOUT by worker.MinLeaseMargin.
	AckWait time.Duration `env:"PATCHBAY_ACK_WAIT, default=60s"`
	// MaxAckPending bounds the changes delivered and not acknowledged
	// across the fleet (0 means the default, 10000).
	MaxAckPending int `env:"PATCHBAY_MAX_ACK_PENDING, default=10000"`
}

// Topology turns the configuration into the JetStream topology.
func (n NATSConfig) Topology() topology.Topology {
	t := topology.DefaultTopology()
	t.Replicas, t.AckWait = n.Replicas, n.AckWait
	if n.MaxAckPending != 0 {
		t.MaxAckPending = n.MaxAckPending
	}
	return t
}

// warnRetired logs the settings this version ignores.
func (n NATSConfig) warnRetired(logger *slog.Logger) {
	if n.Partitions != 0 {
		logger.Warn("PATCHBAY_PARTITIONS is ignored: changes are ordered per resource, not per lane; remove it",
			"PATCHBAY_PARTITIONS", n.Partitions)
	}
}

// APIConfig configures cmd/api.
type APIConfig struct {
	NATS         NATSConfig
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
	// LookupEnv resolves the callers file's webhook_secret_env references;
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool) `json:"-"`
}

// CCloudConfig configures the upstream client.
type CCloudConfig struct {
	URL         string        `env:"CCLOUD_API_URL, default=https://api.confluent.cloud"`
	APIKey      string        `env:"CCLOUD_API_KEY"`
	APISecret   string        `env:"CCLOUD_API_SECRET" json:"-"`
	AccessToken string        `env:"CCLOUD_ACCESS_TOKEN" json:"-"`
	Timeout     time.Duration `env:"CCLOUD_TIMEOUT, default=30s"`
}

// RetryConfig sets the retry budgets.
type RetryConfig struct {
	MaxErrorAttempts int           `env:"RETRY_MAX_ATTEMPTS, default=10"`
	MaxAge           time.Duration `env:"RETRY_MAX_AGE, default=24h"`
	MaxRateLimitWait time.Duration `env:"RETRY_MAX_RATE_LIMIT_WAIT, default=5m"`
	BackoffBase      time.Duration `env:"RETRY_BACKOFF_BASE, default=1s"`
	BackoffMax       time.Duration `env:"RETRY_BACKOFF_MAX, default=5m"`
}

// RateLimitConfig tunes the fleet-wide rate-limit gate.
type RateLimitConfig struct {
	Margin        float64       `env:"RATELIMIT_MARGIN, default=0.03"`
	ProbeInterval time.Duration `env:"RATELIMIT_PROBE_INTERVAL, default=250ms"`
	Horizon       time.Duration `env:"RATELIMIT_HORIZON, default=10s"`
}

// WorkerConfig configures cmd/worker.
type WorkerConfig struct {
	NATS          NATSConfig
	CCloud        CCloudConfig
	Retry         RetryConfig
	RateLimit     RateLimitConfig
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
