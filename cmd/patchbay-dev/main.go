// Command patchbay-dev runs everything in one process for a first look: an
// embedded NATS server with JetStream (data under PATCHBAY_DEV_DATA), the
// Confluent Cloud simulator seeded with demo resources, the api and a worker.
// It prints a curl that works.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/natsembed"
)

// Config is the dev command's configuration.
type Config struct {
	DataDir       string `env:"PATCHBAY_DEV_DATA, default=.patchbay-dev"`
	NATSPort      int    `env:"PATCHBAY_DEV_NATS_PORT, default=4222"`
	SimAddr       string `env:"PATCHBAY_DEV_SIM_ADDR, default=127.0.0.1:8090"`
	HTTPAddr      string `env:"HTTP_ADDR, default=127.0.0.1:8080"`
	APIMetrics    string `env:"PATCHBAY_DEV_API_METRICS_ADDR, default=127.0.0.1:9464"`
	WorkerMetrics string `env:"PATCHBAY_DEV_WORKER_METRICS_ADDR, default=127.0.0.1:9465"`
	Token         string `env:"PATCHBAY_DEV_TOKEN, default=dev-token-change-me-0123456789" json:"-"`
	SimRateLimit  int    `env:"PATCHBAY_DEV_SIM_RATE_LIMIT, default=20"`
	LogLevel      string `env:"LOG_LEVEL, default=warn"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "patchbay-dev:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	var cfg Config
	if err := envconfig.Process(ctx, &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger, err := app.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	ns, err := natsembed.Start(natsembed.Options{Port: cfg.NATSPort, StoreDir: filepath.Join(cfg.DataDir, "nats"), ServerName: "patchbay-dev"})
	if err != nil {
		return fmt.Errorf("PATCHBAY_DEV_NATS_PORT: embedded NATS: %w", err)
	}
	defer ns.Shutdown()

	sim, err := ccloudsim.New(ccloudsim.Options{
		Credentials: map[string]string{"dev-key": "dev-secret"},
		RateLimit:   cfg.SimRateLimit, RatePeriod: time.Second,
		BaseURL: "http://" + cfg.SimAddr,
	})
	if err != nil {
		return err
	}
	sim.SeedDemo()
	simLn, err := net.Listen("tcp", cfg.SimAddr)
	if err != nil {
		return fmt.Errorf("PATCHBAY_DEV_SIM_ADDR: %w", err)
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()

	natsCfg := app.NATSConfig{URL: ns.ClientURL(), Replicas: 1, AckWait: 60 * time.Second}
	apiCfg := app.APIConfig{
		NATS: natsCfg, HTTPAddr: cfg.HTTPAddr, MetricsAddr: cfg.APIMetrics,
		APITokens: "dev=" + cfg.Token, MaxBodyBytes: 64 << 10, LogLevel: cfg.LogLevel,
	}
	workerCfg := app.WorkerConfig{
		NATS: natsCfg, MetricsAddr: cfg.WorkerMetrics, ShutdownGrace: 10 * time.Second, LogLevel: cfg.LogLevel,
		CCloud: app.CCloudConfig{URL: "http://" + simLn.Addr().String(), APIKey: "dev-key", APISecret: "dev-secret", Timeout: 10 * time.Second},
		Retry: app.RetryConfig{MaxErrorAttempts: 10, MaxAge: time.Hour, MaxRateLimitWait: time.Minute,
			BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("api", func() error { return app.RunAPI(ctx, apiCfg, logger.With("process", "api")) })
	run("worker", func() error { return app.RunWorker(ctx, workerCfg, logger.With("process", "worker")) })

	if err := waitReady(ctx, "http://"+cfg.HTTPAddr+"/readyz"); err == nil {
		printBanner(cfg, simLn.Addr().String(), ns.ClientURL())
	}
	<-ctx.Done()
	wg.Wait()
	close(errs)
	return <-errs
}

// waitReady polls the api's readiness with a deadline.
func waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func printBanner(cfg Config, simAddr, natsURL string) {
	base := "http://" + cfg.HTTPAddr
	fmt.Printf(`
Patchbay is running (all in one process; Ctrl-C stops it).
  intake        %[1]s   (token: %[2]s)
  NATS          %[3]s   (JetStream data in %[4]s)
  simulator     http://%[5]s   (Confluent Cloud stand-in, %[6]d req/s per credential)
  metrics       http://%[7]s/metrics (api), http://%[8]s/metrics (worker)

Rename a peering:

  curl -sS -i -X PATCH %[1]s/networking/v1/peerings/p-demo1 \
    -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' \
    -d '{"spec":{"display_name":"renamed-by-patchbay","environment":{"id":"env-demo"}}}'

Then follow the change (use the id from the Location header):

  curl -sS '%[1]s/v1/changes/<change_id>?wait=30s' -H 'Authorization: Bearer %[2]s'

`, base, cfg.Token, natsURL, cfg.DataDir, simAddr, cfg.SimRateLimit, cfg.APIMetrics, cfg.WorkerMetrics)
}
