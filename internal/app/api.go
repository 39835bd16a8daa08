package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notifyqueue"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/slackapp"
	"github.com/patchbay/patchbay/internal/topology"
)

// API is an assembled api process: the intake handler and its NATS connection.
type API struct {
	Handler *intake.Server
	nc      *nats.Conn
	slack   *slackapp.Handler
}

// NewAPI validates cfg, connects to NATS, makes sure the streams and buckets
// exist (waiting for NATS if needed) and builds the intake.
func NewAPI(ctx context.Context, cfg APIConfig, logger *slog.Logger, reg prometheus.Registerer) (*API, error) {
	logger = redact.NewLogger(logger, apiSecrets(cfg)...)
	callers, err := apiCallers(cfg, logger)
	if err != nil {
		return nil, err
	}
	icfg, err := intakeConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSlack(cfg.Slack, callers, logger); err != nil {
		return nil, err
	}
	if err := cfg.NATS.Validate(); err != nil {
		return nil, err
	}
	topo := cfg.NATS.Topology()
	cfg.NATS.WarnRetired(logger)
	m, err := metrics.NewIntake(reg)
	if err != nil {
		return nil, err
	}
	m.Preset(operations())
	nc, js, err := topology.Connect(cfg.NATS.URL, "patchbay-api", logger)
	if err != nil {
		return nil, err
	}
	if err := topology.EnsureWithRetry(ctx, js, topo, logger); err != nil {
		nc.Close()
		return nil, err
	}
	store, err := records.NewRecords(ctx, js)
	if err != nil {
		nc.Close()
		return nil, err
	}
	q, err := queue.New(ctx, queue.Deps{JS: js, Records: store, Logger: logger, Now: time.Now})
	if err != nil {
		nc.Close()
		return nil, err
	}
	if err := metrics.NewQueue(reg, topology.QueueStatsSource(js), time.Now, queueStatsTimeout); err != nil {
		nc.Close()
		return nil, err
	}
	deliveries, err := replay.NewDeliveries(ctx, js)
	if err != nil {
		nc.Close()
		return nil, err
	}
	notifications, err := notifyqueue.New(ctx, js, time.Now)
	if err != nil {
		nc.Close()
		return nil, err
	}
	slack, err := newSlackApp(ctx, cfg.Slack, js, callers, q, store, m, logger)
	if err != nil {
		nc.Close()
		return nil, err
	}
	deps := intake.Deps{
		Queue: q, Records: store, Callers: callers, Metrics: m, Logger: logger, Deliveries: deliveries,
		Notifications: notifications,
		Ready: func(ctx context.Context) error {
			if !nc.IsConnected() {
				return errors.New("NATS is not connected")
			}
			return topology.CheckPresent(ctx, js)
		},
	}
	if slack != nil {
		deps.Slack = slack
	}
	srv, err := intake.New(icfg, deps)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &API{Handler: srv, nc: nc, slack: slack}, nil
}

// Close waits for the Slack app's pending posts and closes the NATS
// connection.
func (a *API) Close() {
	if a.slack != nil {
		a.slack.Close()
	}
	a.nc.Close()
}

// RunAPI runs the api until ctx ends, then stops accepting and lets in-flight
// requests finish.
func RunAPI(ctx context.Context, cfg APIConfig, logger *slog.Logger) error {
	reg := NewRegistry()
	a, err := NewAPI(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer a.Close()
	return serve(ctx, logger, []*http.Server{
		newHTTPServer(cfg.HTTPAddr, a.Handler),
		newHTTPServer(cfg.MetricsAddr, MetricsHandler(reg)),
	})
}
