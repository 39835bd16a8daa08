package app

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/topology"
	"github.com/patchbay/patchbay/internal/worker"
)

// Version is reported in the upstream User-Agent.
const Version = "0.1.0"

// Worker is an assembled worker process.
type Worker struct {
	*worker.Worker
	nc *nats.Conn
}

// NewWorker validates cfg, connects to NATS, ensures the topology and builds
// the worker with its upstream client.
func NewWorker(ctx context.Context, cfg WorkerConfig, logger *slog.Logger, reg prometheus.Registerer) (*Worker, error) {
	logger = redact.NewLogger(logger, cfg.CCloud.APISecret, cfg.CCloud.AccessToken)
	if cfg.CCloud.APIKey == "" && cfg.CCloud.AccessToken == "" {
		return nil, fmt.Errorf("CCLOUD_API_KEY: set CCLOUD_API_KEY and CCLOUD_API_SECRET (or CCLOUD_ACCESS_TOKEN)")
	}
	if cfg.CCloud.APIKey != "" && cfg.CCloud.APISecret == "" {
		return nil, fmt.Errorf("CCLOUD_API_SECRET: required with CCLOUD_API_KEY")
	}
	up, err := ccloud.New(ccloud.Config{
		BaseURL: cfg.CCloud.URL, APIKey: cfg.CCloud.APIKey, APISecret: cfg.CCloud.APISecret,
		AccessToken: cfg.CCloud.AccessToken, Timeout: cfg.CCloud.Timeout, Version: Version,
	})
	if err != nil {
		return nil, fmt.Errorf("CCLOUD_API_URL: %w", err)
	}
	r := cfg.Retry
	if r.MaxErrorAttempts < 1 || r.BackoffBase <= 0 || r.BackoffMax < r.BackoffBase || r.MaxAge <= 0 || r.MaxRateLimitWait <= 0 {
		return nil, fmt.Errorf("RETRY_*: need RETRY_MAX_ATTEMPTS >= 1, RETRY_MAX_AGE > 0, RETRY_MAX_RATE_LIMIT_WAIT > 0, 0 < RETRY_BACKOFF_BASE <= RETRY_BACKOFF_MAX")
	}
	topo := cfg.NATS.Topology()
	if err := topo.Validate(); err != nil {
		return nil, fmt.Errorf("NATS_REPLICAS/PATCHBAY_ACK_WAIT/PATCHBAY_MAX_ACK_PENDING: %w", err)
	}
	callTimeout := cfg.CCloud.Timeout
	if callTimeout == 0 {
		callTimeout = ccloud.DefaultTimeout
	}
	if topo.AckWait < callTimeout+worker.MinLeaseMargin {
		return nil, fmt.Errorf("PATCHBAY_ACK_WAIT (%s) must exceed CCLOUD_TIMEOUT (%s) by at least %s, so that no upstream call outlives a worker's lease",
			topo.AckWait, callTimeout, worker.MinLeaseMargin)
	}
	concurrency := cfg.Concurrency
	if concurrency == 0 {
		concurrency = 64
	}
	if concurrency < 1 {
		return nil, fmt.Errorf("WORKER_CONCURRENCY: %d is below 1", concurrency)
	}
	cfg.NATS.warnRetired(logger)
	m, err := metrics.NewWorker(reg)
	if err != nil {
		return nil, err
	}
	m.Preset(operations(), []string{retry.ReasonRateLimited, retry.ReasonUpstreamError, worker.RetryReasonGate})
	nc, js, err := topology.Connect(cfg.NATS.URL, "patchbay-worker", logger)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: %w", err)
	}
	fail := func(err error) (*Worker, error) { nc.Close(); return nil, err }
	if err := topology.EnsureWithRetry(ctx, js, topo, logger); err != nil {
		return fail(err)
	}
	records, err := records.NewRecords(ctx, js)
	if err != nil {
		return fail(err)
	}
	pub, err := events.NewPublisher(js, time.Now)
	if err != nil {
		return fail(err)
	}
	fleetGate, err := gate.New(ctx, js, gate.Config{Margin: cfg.RateLimit.Margin, ProbeInterval: cfg.RateLimit.ProbeInterval, Horizon: cfg.RateLimit.Horizon}, time.Now)
	if err != nil {
		return fail(err)
	}
	if err := fleetGate.Watch(ctx); err != nil {
		return fail(err)
	}
	cred := up.CredentialID()
	if err := metrics.NewGateClosed(reg, func() bool { return !fleetGate.Blocked(cred).IsZero() }); err != nil {
		return fail(err)
	}
	if err := metrics.NewQueue(reg, topology.QueueStatsSource(js), time.Now, queueStatsTimeout); err != nil {
		return fail(err)
	}
	heads, err := topology.NewHeads(ctx, js)
	if err != nil {
		return fail(err)
	}
	src, err := worker.NewJetStreamSource(nc, js)
	if err != nil {
		return fail(err)
	}
	w, err := worker.New(worker.Config{
		AckWait: topo.AckWait, CallTimeout: callTimeout, Concurrency: concurrency, ShutdownGrace: cfg.ShutdownGrace,
		Policy: retry.Policy{
			MaxErrorAttempts:     r.MaxErrorAttempts,
			MaxAge:               r.MaxAge,
			MaxRateLimitWait:     r.MaxRateLimitWait,
			DefaultRateLimitWait: time.Second,
			Backoff:              retry.FullJitter(r.BackoffBase, r.BackoffMax, rand.Float64),
		},
	}, worker.Deps{
		Source: src, Heads: heads, Records: records, Events: pub, Upstream: up, Gate: fleetGate, Metrics: m, Logger: logger, Now: time.Now,
		Hooks: cfg.Hooks,
	})
	if err != nil {
		return fail(err)
	}
	return &Worker{Worker: w, nc: nc}, nil
}

// Close closes the NATS connection (after Run returned, for a clean stop;
// before, to simulate a crash).
func (w *Worker) Close() { w.nc.Close() }

// RunWorker runs a worker until ctx ends, then drains it.
func RunWorker(ctx context.Context, cfg WorkerConfig, logger *slog.Logger) error {
	reg := NewRegistry()
	w, err := NewWorker(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer w.Close()
	metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	metricsDone := make(chan error, 1)
	go func() {
		metricsDone <- serve(metricsCtx, logger, []*http.Server{newHTTPServer(cfg.MetricsAddr, MetricsHandler(reg))})
	}()
	runErr := w.Run(ctx)
	stopMetrics()
	if err := <-metricsDone; err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
