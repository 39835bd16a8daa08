// Command ccloudsim serves the Confluent Cloud simulator (internal/ccloudsim)
// with demo data, for `make run` and manual testing.
//
// Configuration (environment):
//
//	SIM_ADDR         listen address (default :8090)
//	SIM_API_KEY      accepted API key (default dev-key)
//	SIM_API_SECRET   its secret (default dev-secret)
//	SIM_RATE_LIMIT   requests per SIM_RATE_PERIOD per credential, 0 = unlimited (default 0)
//	SIM_RATE_PERIOD  rate-limit window (default 1s)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 10 * time.Second
	requestLogLimit   = 10000
)

// Config is the simulator's configuration.
type Config struct {
	// Addr is the listen address.
	Addr string `env:"SIM_ADDR, default=:8090"`
	// APIKey and APISecret are the accepted HTTP Basic credential.
	APIKey    string `env:"SIM_API_KEY, default=dev-key"`
	APISecret string `env:"SIM_API_SECRET, default=dev-secret" json:"-"`
	// RateLimit is requests per RatePeriod per credential (0 = unlimited).
	RateLimit  int           `env:"SIM_RATE_LIMIT, default=0"`
	RatePeriod time.Duration `env:"SIM_RATE_PERIOD, default=1s"`
}

// validate reports the first bad setting, naming its variable.
func (c Config) validate() error {
	switch {
	case c.APIKey == "":
		return errors.New("SIM_API_KEY must not be empty")
	case c.APISecret == "":
		return errors.New("SIM_API_SECRET must not be empty")
	case c.RateLimit < 0:
		return fmt.Errorf("SIM_RATE_LIMIT must be >= 0, got %d", c.RateLimit)
	case c.RatePeriod <= 0:
		return fmt.Errorf("SIM_RATE_PERIOD must be > 0, got %s", c.RatePeriod)
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "ccloudsim:", err)
		os.Exit(1)
	}
}

// realMain loads the configuration and serves until ctx is done.
func realMain(ctx context.Context) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var cfg Config
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	sim, err := ccloudsim.New(ccloudsim.Options{
		Credentials: map[string]string{cfg.APIKey: cfg.APISecret},
		RateLimit:   cfg.RateLimit,
		RatePeriod:  cfg.RatePeriod,
		LogLimit:    requestLogLimit,
		Logger:      logger,
	})
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	sim.SeedDemo()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on SIM_ADDR %q: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: readHeaderTimeout}
	logger.Info("ccloudsim listening", "addr", ln.Addr().String(), "api_key", cfg.APIKey,
		"rate_limit", cfg.RateLimit, "rate_period", cfg.RatePeriod.String())
	return serve(ctx, srv, ln, logger)
}

// serve runs srv on ln until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("ccloudsim shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
