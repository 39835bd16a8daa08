package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/slackapp"
)

// checkSlack validates the Slack app's configuration before anything
// connects: it needs callers with slack_users.
func checkSlack(cfg slackapp.Config, callers *intake.Callers, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !cfg.Enabled() {
		return nil
	}
	if callers == nil {
		return errors.New("SLACK_SIGNING_SECRET: the Slack app needs callers (API_CALLERS_FILE with slack_users), not PATCHBAY_INSECURE_NO_AUTH")
	}
	if !callers.HasSlackUsers() {
		logger.Warn("SLACK_SIGNING_SECRET is set but no caller has slack_users: every Slack user will be refused")
	}
	return nil
}

// newSlackApp builds the Slack endpoints; nil when the app is disabled.
func newSlackApp(ctx context.Context, cfg slackapp.Config, js jetstream.JetStream, callers *intake.Callers,
	q *queue.Queue, recs *records.Records, m *metrics.Intake, logger *slog.Logger) (*slackapp.Handler, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	replies, err := slackapp.NewReplies(ctx, js)
	if err != nil {
		return nil, err
	}
	poster, err := slackapp.NewPoster(cfg.AllowedHosts, cfg.PostTimeout, nil)
	if err != nil {
		return nil, fmt.Errorf("SLACK_ALLOWED_HOSTS: %w", err)
	}
	return slackapp.NewHandler(cfg, slackapp.Deps{Callers: callers, Queue: q, Records: recs,
		Replies: replies, Poster: poster, Logger: logger.With("component", "slack"), Now: time.Now,
		Accepted: func(op string) { m.Accepted.WithLabelValues(op).Inc() }})
}
