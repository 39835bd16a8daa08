// Package intake is Patchbay's HTTP front door (Echo): it authenticates
// callers, validates change requests exactly as the upstream would, makes
// them durable in JetStream and answers 202, and serves change records.
package intake

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/patchbay/patchbay/internal/jobs"
	"github.com/patchbay/patchbay/internal/metrics"
)

// Config tunes the intake.
type Config struct {
	// MaxBodyBytes limits a request body (413 beyond).
	MaxBodyBytes int64
	// MaxWait caps ?wait= on GET /v1/changes/{id}.
	MaxWait time.Duration
	// EnqueueTimeout bounds the JetStream work of one request (503 beyond).
	EnqueueTimeout time.Duration
}

// Deps are the intake's collaborators.
type Deps struct {
	Queue   *jobs.Queue
	Records *jobs.Records
	// Callers authenticates; nil means the explicitly insecure dev mode.
	Callers *Callers
	// Ready reports whether NATS is connected and the streams exist.
	Ready   func(ctx context.Context) error
	Metrics *metrics.Intake
	Logger  *slog.Logger
}

// Server is the intake's HTTP handler.
type Server struct {
	cfg     Config
	queue   *jobs.Queue
	records *jobs.Records
	callers *Callers
	ready   func(ctx context.Context) error
	metrics *metrics.Intake
	logger  *slog.Logger
	echo    *echo.Echo
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
	s := &Server{cfg: cfg, queue: deps.Queue, records: deps.Records, callers: deps.Callers,
		ready: deps.Ready, metrics: deps.Metrics, logger: deps.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true}))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openapi)

	// Per-route middleware (not a Group) so that a wrong method is a 405.
	e.PATCH("/networking/v1/peerings/:id", s.patch(peeringOp), s.authenticate)
	e.PATCH("/notifications/v1/integrations/:id", s.patch(integrationOp), s.authenticate)
	e.GET("/v1/changes/:change_id", s.getChange, s.authenticate)
	e.POST("/v1/changes/:change_id/retry", s.retryChange, s.authenticate)
	s.echo = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists "METHOD path" of every route (for the OpenAPI test).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

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
