package intake_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/apierror"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

// Tokens of the test callers.
const (
	jiraToken = "jira-token-0123456789abcdef"
	botToken  = "bot-token-0123456789abcdef"
)

// bundle is one intake backed by a real embedded JetStream server; a test
// function builds one and shares it among its subtests.
type bundle struct {
	srv     *intake.Server
	js      jetstream.JetStream
	records *records.Records
	// deps built the server.
	deps intake.Deps
}

// newBundle starts an embedded NATS server, sets up Patchbay's topology and
// builds the intake with the callers jira and bot.
func newBundle(t *testing.T, cfg intake.Config) *bundle {
	t.Helper()
	callers, err := intake.ParseCallers("jira=" + jiraToken + ",bot=" + botToken)
	if err != nil {
		t.Fatal(err)
	}
	return newBundleWith(t, cfg, callers, nil)
}

// newBundleWith builds the intake with the given callers and clock (nil:
// time.Now), and the deliveries store for signed requests.
func newBundleWith(t *testing.T, cfg intake.Config, callers *intake.Callers, now func() time.Time) *bundle {
	t.Helper()
	_, _, js := testkit.StartNATS(t)
	return newBundleOn(t, cfg, callers, now, js)
}

// newBundleOn builds the intake on js (a connection to a fresh server,
// perhaps through a fault proxy).
func newBundleOn(t *testing.T, cfg intake.Config, callers *intake.Callers, now func() time.Time, js jetstream.JetStream) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	topo := topology.DefaultTopology()
	if err := topology.Ensure(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	records, err := records.NewRecords(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := queue.New(ctx, queue.Deps{JS: js, Records: records, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.NewIntake(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := replay.NewDeliveries(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	deps := intake.Deps{
		Deliveries: deliveries,
		Now:        now,
		Queue:      queue,
		Records:    records,
		Callers:    callers,
		Ready:      func(context.Context) error { return nil },
		Metrics:    m,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv, err := intake.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{srv: srv, js: js, records: records, deps: deps}
}

// do serves one request in-process and returns the recorded response.
func (b *bundle) do(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	b.srv.ServeHTTP(rec, req)
	return rec
}

// envelope decodes an error response and checks its basic shape.
func envelope(t *testing.T, rec *httptest.ResponseRecorder) apierror.Error {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=UTF-8" {
		t.Fatalf("error Content-Type = %q, body %s", ct, rec.Body)
	}
	var env apierror.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("error body is not an envelope: %v: %s", err, rec.Body)
	}
	if len(env.Errors) != 1 {
		t.Fatalf("envelope has %d entries, want 1: %s", len(env.Errors), rec.Body)
	}
	e := env.Errors[0]
	if e.Status != strconv.Itoa(rec.Code) {
		t.Fatalf("envelope status %q, response status %d", e.Status, rec.Code)
	}
	if e.Code == "" || e.Title == "" {
		t.Fatalf("envelope entry without code or title: %s", rec.Body)
	}
	return e
}
