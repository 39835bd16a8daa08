// Command worker consumes queued changes and applies them to Confluent Cloud,
// recording every attempt and publishing result events.
package main

import (
	"context"

	"github.com/patchbay/patchbay/internal/app"
)

func main() { app.Main("worker", realMain) }

func realMain(ctx context.Context) error {
	var cfg app.WorkerConfig
	if err := app.LoadEnv(ctx, &cfg); err != nil {
		return err
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return app.RunWorker(ctx, cfg, logger)
}
