// Package intake is Patchbay's HTTP front door (Echo): it authenticates
// callers, validates change requests exactly as the upstream would, makes
// them durable in JetStream and answers 202, and serves change records.
package intake

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/webhooksig"
)

// Config tunes the intake.
type Config struct {
	// MaxBodyBytes limits a request body (413 beyond).
	MaxBodyBytes int64
	// MaxWait caps ?wait= on GET /v1/changes/{id}.
	MaxWait time.Duration
	// EnqueueTimeout bounds the JetStream work of one request (503 beyond).
	EnqueueTimeout time.Duration
	// RateLimit is every caller's intake limit (429 beyond) unless the
	// caller has its own; a zero Rate means no limit.
	RateLimit RateLimit
	// MaxLongPolls caps concurrent ?wait= long-polls (default 256); beyond
	// it, GET /v1/changes/{id} answers at once with the current record.
	MaxLongPolls int
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// recording a change's client_address.
	TrustedProxies []netip.Prefix
	// MaxSignatureAge is how far X-Patchbay-Timestamp may be from the
	// server's clock (default 5 minutes).
	MaxSignatureAge time.Duration
}

// Deps are the intake's collaborators.
type Deps struct {
	Queue   *queue.Queue
	Records *records.Records
	// Callers authenticates; nil means the explicitly insecure dev mode.
	Callers *Callers
	// Ready reports whether NATS is connected and the streams exist.
	Ready   func(ctx context.Context) error
	Metrics *metrics.Intake
	Logger  *slog.Logger
	// Deliveries remembers signed webhook deliveries (replay protection);
	// required when a caller signs its requests.
	Deliveries *replay.Deliveries
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notifications is the outbound delivery status shown on the change
	// record; nil shows none and refuses redeliveries.
	Notifications Notifications
	// Slack serves POST /slack/commands and /slack/interactions (package
	// slackapp); nil answers them 404 (SLACK_SIGNING_SECRET not set).
	Slack SlackEndpoints
}

// SlackEndpoints is the Slack app behind /slack/*. It verifies Slack's
// request signatures itself: the intake's bearer authentication does not
// apply to these routes.
type SlackEndpoints interface {
	// ServeCommand answers a slash command.
	ServeCommand(w http.ResponseWriter, r *http.Request)
	// ServeInteraction answers an interactive component (a button).
	ServeInteraction(w http.ResponseWriter, r *http.Request)
}

// Server is the intake's HTTP handler.
type Server struct {
	cfg     Config
	queue   *queue.Queue
	records *records.Records
	callers *Callers
	ready   func(ctx context.Context) error
	metrics *metrics.Intake
	logger  *slog.Logger
	echo    *echo.Echo

	deliveries    *replay.Deliveries
	notifications Notifications
	now           func() time.Time
	limiter       *rateLimiter
	longPolls     *longPolls
}

// New builds the intake.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Queue == nil || deps.Records == nil || deps.Ready == nil || deps.Metrics == nil || deps.Logger == nil {
		return nil, errors.New("intake: nil dependency")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 60 * time.Second
	}
	if cfg.EnqueueTimeout <= 0 {
		cfg.EnqueueTimeout = 5 * time.Second
	}
	if cfg.MaxLongPolls <= 0 {
		cfg.MaxLongPolls = 256
	}
	if cfg.MaxSignatureAge <= 0 {
		cfg.MaxSignatureAge = webhooksig.DefaultMaxSkew
	}
	if deps.Callers != nil && deps.Callers.HasSigners() && deps.Deliveries == nil {
		return nil, errors.New("intake: callers sign their requests but no Deliveries store was given")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, queue: deps.Queue, records: deps.Records, callers: deps.Callers,
		ready: deps.Ready, metrics: deps.Metrics, logger: deps.Logger,
		deliveries: deps.Deliveries, notifications: deps.Notifications, now: deps.Now, limiter: newRateLimiter(deps.Now), longPolls: newLongPolls(cfg.MaxLongPolls)}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openapi)

	// Per-route middleware (not a Group) so that a wrong method is a 405.
	// The path id is checked first, then authentication (bearer token, or a
	// webhook signature on the change routes), then the caller's rate limit.
	e.PATCH("/networking/v1/peerings/:id", s.patch(peeringOp), s.checkPathID, s.authenticate(true), s.rateLimit)
	e.PATCH("/notifications/v1/integrations/:id", s.patch(integrationOp), s.checkPathID, s.authenticate(true), s.rateLimit)
	e.GET("/v1/changes/:change_id", s.getChange, s.authenticate(false), s.rateLimit)
	e.POST("/v1/changes/:change_id/retry", s.retryChange, s.authenticate(false), s.rateLimit)
	e.POST("/slack/commands", slackRoute(deps.Slack, SlackEndpoints.ServeCommand))
	e.POST("/slack/interactions", slackRoute(deps.Slack, SlackEndpoints.ServeInteraction))
	e.POST("/v1/changes/:change_id/notify", s.redeliverNotifications, s.authenticate(false), s.rateLimit)
	s.echo = e
	return s, nil
}

// slackRoute mounts one Slack endpoint, or a 404 when the app is disabled.
func slackRoute(app SlackEndpoints, serve func(SlackEndpoints, http.ResponseWriter, *http.Request)) echo.HandlerFunc {
	if app == nil {
		return func(echo.Context) error {
			return fail(http.StatusNotFound, "slack_disabled", "Not Found",
				"the Slack app is not enabled on this server (SLACK_SIGNING_SECRET is not set)", "")
		}
	}
	return func(c echo.Context) error {
		serve(app, c.Response(), c.Request())
		return nil
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// observe records request metrics by route template (never by raw path).
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" || c.Response().Status == http.StatusNotFound && route == "/*" {
			route = "unmatched"
		}
		s.metrics.Requests.WithLabelValues(route, strconv.Itoa(c.Response().Status)).Inc()
		s.metrics.RequestDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		return fail(http.StatusServiceUnavailable, "not_ready", "Service Unavailable", "not ready: "+err.Error(), "")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
