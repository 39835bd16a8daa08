// Command notifier consumes Patchbay's result events and delivers each
// outcome where the request came from: signed webhook callbacks, Jira
// comments and ServiceNow work notes, at least once, with retries that
// honour the receiver's Retry-After.
package main

import (
	"context"

	"github.com/patchbay/patchbay/internal/app"
)

func main() { app.Main("notifier", realMain) }

func realMain(ctx context.Context) error {
	var cfg app.NotifierConfig
	if err := app.LoadEnv(ctx, &cfg); err != nil {
		return err
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	return app.RunNotifier(ctx, cfg, logger)
}
