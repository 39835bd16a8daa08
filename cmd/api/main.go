// Command api is Patchbay's HTTP intake: it validates change requests, makes
// them durable in NATS JetStream and serves change records.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"

	"github.com/patchbay/patchbay/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg app.APIConfig
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return app.RunAPI(ctx, cfg, logger)
}
