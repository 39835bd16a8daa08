package app

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	nc     *nats.Conn
	js     jetstream.JetStream
	topo   topology.Topology
	logger *slog.Logger
	repair *topology.HeadRepair
}

// NewWorker validates cfg, connects to NATS, ensures the topology and builds
// the worker with its upstream client.
func NewWorker(ctx context.Context, cfg WorkerConfig, logger *slog.Logger, reg prometheus.Registerer) (*Worker, error) {
	logger = redact.NewLogger(logger, cfg.CCloud.APISecret, cfg.CCloud.AccessToken)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	up, err := ccloud.New(cfg.CCloud.Config(Version))
	if err != nil {
		return nil, fmt.Errorf("CCLOUD_*: %w", err)
	}
	gateCfg := cfg.RateLimit.WithDefaults()
	topo := cfg.NATS.Topology()
	callTimeout := cfg.CCloud.Timeout
	cfg.NATS.WarnRetired(logger)
	m, err := metrics.NewWorker(reg)
	if err != nil {
		return nil, err
	}
	m.Preset(operations(), []string{retry.ReasonRateLimited, retry.ReasonUpstreamError, worker.RetryReasonGate})
	nc, js, err := topology.Connect(cfg.NATS.URL, "patchbay-worker", logger)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Worker, error) { nc.Close(); return nil, err }
	if err := topology.EnsureWithRetry(ctx, js, topo, logger); err != nil {
		return fail(err)
	}
	store, err := records.NewRecords(ctx, js)
	if err != nil {
		return fail(err)
	}
	pub, err := events.NewPublisher(js, time.Now)
	if err != nil {
		return fail(err)
	}
	fleetGate, err := gate.New(ctx, js, gateCfg, time.Now)
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
	repair, err := topology.NewHeadRepair(js, topo, 2*topo.AckWait, logger, time.Now)
	if err != nil {
		return fail(err)
	}
	w, err := worker.New(worker.Config{
		AckWait: topo.AckWait, CallTimeout: callTimeout, Concurrency: cfg.Concurrency, ShutdownGrace: cfg.ShutdownGrace,
		Policy: cfg.Retry.Policy(rand.Float64),
	}, worker.Deps{
		Source: src, Heads: heads, Records: store, Events: pub, Upstream: up, Gate: fleetGate, Metrics: m, Logger: logger, Now: time.Now,
		Hooks: cfg.Hooks, StuckHead: repair.Report,
	})
	if err != nil {
		return fail(err)
	}
	return &Worker{Worker: w, nc: nc, js: js, topo: topo, logger: logger, repair: repair}, nil
}

// Run runs the worker until ctx ends and, beside it, the two queue repairs:
// the sweep that gets an orphaned change delivered again (see
// topology.SweepOrphans) and the repair of a stuck change the worker
// reports (see topology.HeadRepair).
func (w *Worker) Run(ctx context.Context) error {
	sctx, stop := context.WithCancel(ctx)
	var repairs sync.WaitGroup
	repairs.Go(func() { topology.SweepOrphans(sctx, w.js, w.topo, 2*w.topo.AckWait, w.logger) })
	repairs.Go(func() { w.repair.Run(sctx) })
	err := w.Worker.Run(ctx)
	stop()
	repairs.Wait()
	return err
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
