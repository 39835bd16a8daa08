package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"
)

// Main runs realMain with a context that ends on SIGINT or SIGTERM, and
// exits 1 with one line "name: error" on stderr if it fails. Every binary's
// main is this one call.
func Main(name string, realMain func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := realMain(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// LoadEnv fills target (a struct of env-tagged configs) from the process
// environment.
func LoadEnv(ctx context.Context, target any) error {
	if err := envconfig.Process(ctx, target); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}
