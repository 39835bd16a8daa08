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

	"github.com/patchbay/patchbay/internal/process"
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
	var cfg process.APIConfig
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := process.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return process.RunAPI(ctx, cfg, logger)
}
