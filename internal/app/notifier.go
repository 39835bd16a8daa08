package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/jira"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/servicenow"
	"github.com/patchbay/patchbay/internal/notify/webhook"
	"github.com/patchbay/patchbay/internal/notifyqueue"
	"github.com/patchbay/patchbay/internal/outbound"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/slackapp"
	"github.com/patchbay/patchbay/internal/topology"
)

// NotifierConfig configures cmd/notifier.
type NotifierConfig struct {
	NATS       topology.Settings
	Notify     notify.EnvConfig
	Outbound   outbound.EnvConfig
	Routes     route.EnvConfig
	Jira       jira.EnvConfig
	ServiceNow servicenow.EnvConfig
	// Slack delivers results of /patchbay commands to their response_url;
	// enabled, as on the api, by SLACK_SIGNING_SECRET.
	Slack slackapp.Config
	// PublicURL is the intake's public base URL, for links to change records.
	PublicURL   string `env:"PATCHBAY_PUBLIC_URL"`
	MetricsAddr string `env:"METRICS_ADDR, default=:9466"`
	LogLevel    string `env:"LOG_LEVEL, default=info"`
	// LookupEnv resolves secret_env references of the callers file; nil
	// means os.LookupEnv.
	LookupEnv func(string) (string, bool) `json:"-"`
}

// knownDestinations are the keys a notify object may have.
var knownDestinations = []string{webhook.Name, jira.Name, servicenow.Name}

// Notifier is an assembled notifier process.
type Notifier struct {
	*notify.Notifier
	nc *nats.Conn
}

// NewNotifier validates cfg (every variable and the routes, before any
// connection), connects to NATS, ensures the topology and builds the
// notifier with its destinations.
func NewNotifier(ctx context.Context, cfg NotifierConfig, logger *slog.Logger, reg prometheus.Registerer) (*Notifier, error) {
	dests, secrets, err := notifierDestinations(&cfg)
	if err != nil {
		return nil, err
	}
	logger = redact.NewLogger(logger, secrets...)
	if err := cfg.NATS.Validate(); err != nil {
		return nil, err
	}
	topo := cfg.NATS.Topology()
	m, err := metrics.NewNotify(reg)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(dests))
	for _, d := range dests {
		names = append(names, d.Name())
	}
	m.Preset(names)
	nc, js, err := topology.Connect(cfg.NATS.URL, "patchbay-notifier", logger)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Notifier, error) { nc.Close(); return nil, err }
	if err := topology.EnsureWithRetry(ctx, js, topo, logger); err != nil {
		return fail(err)
	}
	store, err := notifyqueue.New(ctx, js, time.Now)
	if err != nil {
		return fail(err)
	}
	if cfg.Slack.Enabled() {
		sd, err := slackDestination(ctx, cfg, js, logger)
		if err != nil {
			return fail(err)
		}
		dests = append(dests, sd)
		names = append(names, sd.Name())
	}
	n, err := notify.New(cfg.Notify.Config(notify.Backoff(retry.FullJitter(cfg.Notify.BackoffBase, cfg.Notify.BackoffMax, rand.Float64))),
		notify.Deps{JS: js, Store: store, Destinations: dests, Metrics: m, Logger: logger, Now: time.Now})
	if err != nil {
		return fail(err)
	}
	logger.Info("notifier ready", "destinations", names)
	return &Notifier{Notifier: n, nc: nc}, nil
}

// notifierDestinations validates the configuration and builds the enabled
// destinations; it also returns the secrets the logs must never show.
func notifierDestinations(cfg *NotifierConfig) ([]notify.Destination, []string, error) {
	if err := cfg.Notify.Validate(); err != nil {
		return nil, nil, err
	}
	var secrets []string
	policy, err := cfg.Outbound.Policy()
	if err != nil {
		return nil, nil, err
	}
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, nil, errors.New("PATCHBAY_PUBLIC_URL: must be an absolute http(s) URL")
		}
	}
	if err := cfg.Jira.Validate(); err != nil {
		return nil, nil, err
	}
	if err := cfg.Slack.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Slack.Enabled() {
		secrets = append(secrets, cfg.Slack.SigningSecret, cfg.Slack.FallbackWebhookURL)
	}
	if err := cfg.ServiceNow.Validate(); err != nil {
		return nil, nil, err
	}
	table, err := cfg.Routes.Load()
	if err != nil {
		return nil, nil, err
	}
	if err := table.CheckKnown(knownDestinations); err != nil {
		return nil, nil, fmt.Errorf("API_CALLERS_FILE/NOTIFY_DEFAULT: %w", err)
	}
	lookup := cfg.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	client := outbound.NewClient(policy, cfg.Notify.Timeout, nil)
	var dests []notify.Destination
	if uses(table, webhook.Name) {
		if len(policy.AllowedHosts) == 0 {
			return nil, nil, errors.New("NOTIFY_ALLOWED_HOSTS: required for webhook callbacks (the hosts of their URLs)")
		}
		wh, err := webhook.New(table, policy, client, lookup, time.Now)
		if err != nil {
			return nil, nil, fmt.Errorf("API_CALLERS_FILE/NOTIFY_DEFAULT: %w", err)
		}
		dests = append(dests, wh)
		secrets = append(secrets, wh.Secrets()...)
	}
	if uses(table, jira.Name) || cfg.Jira.Enabled() {
		if !cfg.Jira.Enabled() {
			return nil, nil, errors.New("NOTIFY_JIRA_URL: a caller's notify names jira, but Jira is not configured")
		}
		j, err := jira.New(jira.Config{BaseURL: cfg.Jira.URL, Email: cfg.Jira.Email, APIToken: cfg.Jira.APIToken, PublicBaseURL: cfg.PublicURL},
			table, policy, client, time.Now)
		if err != nil {
			return nil, nil, fmt.Errorf("NOTIFY_JIRA_URL: %w", err)
		}
		dests = append(dests, j)
		secrets = append(secrets, cfg.Jira.APIToken)
	}
	if uses(table, servicenow.Name) || cfg.ServiceNow.Enabled() {
		if !cfg.ServiceNow.Enabled() {
			return nil, nil, errors.New("NOTIFY_SERVICENOW_URL: a caller's notify names servicenow, but ServiceNow is not configured")
		}
		sn, err := servicenow.New(servicenow.Config{BaseURL: cfg.ServiceNow.URL, User: cfg.ServiceNow.User,
			Password: cfg.ServiceNow.Password, Token: cfg.ServiceNow.Token, PublicBaseURL: cfg.PublicURL},
			table, policy, client, time.Now)
		if err != nil {
			return nil, nil, fmt.Errorf("NOTIFY_SERVICENOW_URL: %w", err)
		}
		dests = append(dests, sn)
		secrets = append(secrets, cfg.ServiceNow.Password, cfg.ServiceNow.Token)
	}
	return dests, secrets, nil
}

// uses reports whether any caller or the default names destination.
func uses(t *route.Table, destination string) bool {
	if _, ok := t.Default()[destination]; ok {
		return true
	}
	for _, c := range t.Callers() {
		if _, ok := t.For(c)[destination]; ok {
			return true
		}
	}
	return false
}

// Close closes the NATS connection (after Run returned, for a clean stop;
// before, to simulate a crash).
func (n *Notifier) Close() { n.nc.Close() }

// RunNotifier runs a notifier until ctx ends, then lets the attempts in
// flight finish.
func RunNotifier(ctx context.Context, cfg NotifierConfig, logger *slog.Logger) error {
	reg := NewRegistry()
	n, err := NewNotifier(ctx, cfg, logger, reg)
	if err != nil {
		return err
	}
	defer n.Close()
	metricsCtx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	metricsDone := make(chan error, 1)
	go func() {
		metricsDone <- serve(metricsCtx, logger, []*http.Server{newHTTPServer(cfg.MetricsAddr, MetricsHandler(reg))})
	}()
	runErr := n.Run(ctx)
	stopMetrics()
	if err := <-metricsDone; err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// slackDestination builds the Slack destination: results of /patchbay
// commands go to the command's response_url (reply targets the api stored
// in KV), else to the caller's or the default fallback webhook.
func slackDestination(ctx context.Context, cfg NotifierConfig, js jetstream.JetStream, logger *slog.Logger) (*slackapp.Destination, error) {
	replies, err := slackapp.NewReplies(ctx, js)
	if err != nil {
		return nil, err
	}
	poster, err := slackapp.NewPoster(cfg.Slack.AllowedHosts, cfg.Slack.PostTimeout, nil)
	if err != nil {
		return nil, fmt.Errorf("SLACK_ALLOWED_HOSTS: %w", err)
	}
	var dir slackapp.Directory
	if cfg.Routes.CallersFile != "" {
		lookup := cfg.LookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		callers, err := intake.LoadCallersFile(cfg.Routes.CallersFile, lookup)
		if err != nil {
			return nil, fmt.Errorf("API_CALLERS_FILE: %w", err)
		}
		dir = callers
	}
	return slackapp.NewDestination(cfg.Slack, slackapp.DestinationDeps{Replies: replies, Poster: poster, Callers: dir,
		Logger: logger.With("destination", "slack")})
}
