// Command notifier consumes Patchbay's result events and delivers each
// outcome where the request came from: signed webhook callbacks, Jira
// comments and ServiceNow work notes, at least once, with retries that
// honour the receiver's Retry-After.
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
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg app.NotifierConfig
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return app.RunNotifier(ctx, cfg, logger)
}
