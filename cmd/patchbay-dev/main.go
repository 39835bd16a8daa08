// Command patchbay-dev runs everything in one process for a first look: an
// embedded NATS server with JetStream (data under PATCHBAY_DEV_DATA), the
// Confluent Cloud simulator seeded with demo resources, the api, a worker,
// and a notifier delivering to the Jira, ServiceNow and webhook receiver
// simulators. It prints a curl that works.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/natsembed"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/slackapp"
)

// Config is the dev command's configuration.
type Config struct {
	DataDir         string `env:"PATCHBAY_DEV_DATA, default=.patchbay-dev"`
	NATSPort        int    `env:"PATCHBAY_DEV_NATS_PORT, default=4222"`
	SimAddr         string `env:"PATCHBAY_DEV_SIM_ADDR, default=127.0.0.1:8090"`
	HTTPAddr        string `env:"HTTP_ADDR, default=127.0.0.1:8080"`
	APIMetrics      string `env:"PATCHBAY_DEV_API_METRICS_ADDR, default=127.0.0.1:9464"`
	WorkerMetrics   string `env:"PATCHBAY_DEV_WORKER_METRICS_ADDR, default=127.0.0.1:9465"`
	NotifierMetrics string `env:"PATCHBAY_DEV_NOTIFIER_METRICS_ADDR, default=127.0.0.1:9466"`
	JiraAddr        string `env:"PATCHBAY_DEV_JIRA_ADDR, default=127.0.0.1:8091"`
	ServiceNowAddr  string `env:"PATCHBAY_DEV_SERVICENOW_ADDR, default=127.0.0.1:8092"`
	HookAddr        string `env:"PATCHBAY_DEV_HOOK_ADDR, default=127.0.0.1:8093"`
	SlackAddr       string `env:"PATCHBAY_DEV_SLACK_ADDR, default=127.0.0.1:8094"`
	SlackSecret     string `env:"PATCHBAY_DEV_SLACK_SECRET, default=dev-slack-signing-secret-0123456789" json:"-"`
	Token           string `env:"PATCHBAY_DEV_TOKEN, default=dev-token-change-me-0123456789" json:"-"`
	SimRateLimit    int    `env:"PATCHBAY_DEV_SIM_RATE_LIMIT, default=20"`
	LogLevel        string `env:"LOG_LEVEL, default=warn"`
}

func main() { app.Main("patchbay-dev", realMain) }

func realMain(ctx context.Context) error {
	var cfg Config
	if err := app.LoadEnv(ctx, &cfg); err != nil {
		return err
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

	dev, err := startSlack(cfg)
	if err != nil {
		return err
	}
	defer dev.close()
	callersFile, err := writeCallersFile(cfg)
	if err != nil {
		return err
	}

	sims, err := startTicketSims(cfg)
	if err != nil {
		return err
	}
	defer sims.close()

	natsCfg := app.DefaultWorkerConfig().NATS
	natsCfg.URL = ns.ClientURL()
	apiCfg := app.APIConfig{
		NATS: natsCfg, HTTPAddr: cfg.HTTPAddr, MetricsAddr: cfg.APIMetrics,
		CallersFile: callersFile, MaxBodyBytes: 64 << 10, LogLevel: cfg.LogLevel,
		Slack: slackapp.Config{SigningSecret: cfg.SlackSecret, FallbackWebhookURL: dev.sim.NewWebhookURL(),
			AllowedHosts: []string{"127.0.0.1"}, MaxBodyBytes: 16 << 10, AnswerBudget: 2500 * time.Millisecond, PostTimeout: 10 * time.Second},
	}
	// Production defaults, pointed at the embedded NATS and the simulator,
	// with budgets short enough to watch a retry happen.
	workerCfg := app.DefaultWorkerConfig()
	workerCfg.NATS = natsCfg
	workerCfg.MetricsAddr, workerCfg.LogLevel = cfg.WorkerMetrics, cfg.LogLevel
	workerCfg.ShutdownGrace = 10 * time.Second
	workerCfg.CCloud = ccloud.Settings{URL: "http://" + simLn.Addr().String(), APIKey: "dev-key", APISecret: "dev-secret", Timeout: 10 * time.Second}
	workerCfg.Retry = retry.Settings{MaxErrorAttempts: 10, MaxAge: time.Hour, MaxRateLimitWait: time.Minute,
		BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
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
	// The notifier delivers Slack results too (to the Slack simulator).
	notifierCfg := sims.notifierConfig(natsCfg, cfg)
	notifierCfg.Slack = apiCfg.Slack
	notifierCfg.Routes.CallersFile = callersFile
	run("notifier", func() error {
		return app.RunNotifier(ctx, notifierCfg, logger.With("process", "notifier"))
	})

	if err := waitReady(ctx, "http://"+cfg.HTTPAddr+"/readyz"); err == nil {
		printBanner(cfg, simLn.Addr().String(), ns.ClientURL())
		printSlackBanner(cfg, dev)
		printNotifyBanner(cfg)
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
