// Command api is Patchbay's HTTP intake: it validates change requests, makes
// them durable in NATS JetStream and serves change records.
package main

import (
	"context"

	"github.com/patchbay/patchbay/internal/app"
)

func main() { app.Main("api", realMain) }

func realMain(ctx context.Context) error {
	var cfg app.APIConfig
	if err := app.LoadEnv(ctx, &cfg); err != nil {
		return err
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return app.RunAPI(ctx, cfg, logger)
}
