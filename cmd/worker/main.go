// Command worker consumes queued changes and applies them to Confluent Cloud,
// recording every attempt and publishing result events.
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
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg process.WorkerConfig
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := process.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return process.RunWorker(ctx, cfg, logger)
}
