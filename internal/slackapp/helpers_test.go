package slackapp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/redact"
	"github.com/patchbay/patchbay/internal/slackapp"
	"github.com/patchbay/patchbay/internal/slacksim"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

const (
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	team          = "T0TEAM"
	opsUser       = "U0OPS"     // caller "ops": everything
	netUser       = "U0NET"     // caller "net": peerings in env-net only, read, retry
	readUser      = "U0READER"  // caller "reader": changes.read only
	strangerUser  = "U0NOTHERE" // in no caller
	secretWebhook = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
)

// callersJSON are the callers of the tests; ops has its own fallback webhook
// (OPS_FALLBACK, set per test) and posts in the channel.
func callersJSON() string {
	return `{"callers": [
 {"name": "ops", "slack_users": ["T0TEAM/U0OPS"], "slack_response_type": "in_channel",
  "slack_fallback_webhook_env": "OPS_FALLBACK",
  "operations": ["networking.v1.peerings.update", "notifications.v1.integrations.update", "changes.read", "changes.retry"]},
 {"name": "net", "slack_users": ["T0TEAM/U0NET"], "environments": ["env-net"],
  "operations": ["networking.v1.peerings.update", "changes.read", "changes.retry"]},
 {"name": "reader", "slack_users": ["T0TEAM/U0READER"], "operations": ["changes.read"]}
]}`
}

// bundle is the Slack app on a real embedded NATS, with the Slack simulator.
type bundle struct {
	t        *testing.T
	js       jetstream.JetStream
	records  *records.Records
	queue    *queue.Queue
	replies  *slackapp.Replies
	callers  *intake.Callers
	handler  *slackapp.Handler
	dest     *slackapp.Destination
	slack    *slacksim.Server
	signer   slacksim.Signer
	clock    *clocktest.Clock
	logs     *testkit.SyncBuffer
	fallback string // SLACK_FALLBACK_WEBHOOK_URL
	opsHook  string // ops' own fallback webhook
	trigger  int
	accepted atomic.Int32 // changes counted as accepted
	stopNATS func()
}

func newBundle(t *testing.T) *bundle {
	t.Helper()
	ns, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx := context.Background()
	b := &bundle{t: t, js: js, stopNATS: ns.Shutdown, clock: clocktest.New(time.Now()), logs: &testkit.SyncBuffer{}, signer: slacksim.Signer{Secret: signingSecret}}
	b.slack = slacksim.New("", b.clock.Now)
	srv := httptest.NewServer(b.slack)
	t.Cleanup(srv.Close)
	b.slack.SetBase(srv.URL)
	b.fallback, b.opsHook = b.slack.NewWebhookURL(), b.slack.NewWebhookURL()

	dir := t.TempDir()
	path := filepath.Join(dir, "callers.json")
	if err := os.WriteFile(path, []byte(callersJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	b.callers, err = intake.LoadCallersFile(path, func(k string) (string, bool) {
		if k == "OPS_FALLBACK" {
			return b.opsHook, true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.records, err = records.NewRecords(ctx, js); err != nil {
		t.Fatal(err)
	}
	if b.queue, err = queue.New(ctx, queue.Deps{JS: js, Records: b.records, Logger: slog.New(slog.DiscardHandler), Now: time.Now}); err != nil {
		t.Fatal(err)
	}
	if b.replies, err = slackapp.NewReplies(ctx, js); err != nil {
		t.Fatal(err)
	}
	cfg := b.config()
	poster, err := slackapp.NewPoster(cfg.AllowedHosts, cfg.PostTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	logger := redact.NewLogger(slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), signingSecret)
	b.handler, err = slackapp.NewHandler(cfg, slackapp.Deps{Callers: b.callers, Queue: b.queue, Records: b.records,
		Replies: b.replies, Poster: poster, Logger: logger, Now: b.clock.Now,
		Accepted: func(string) { b.accepted.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.handler.Close)
	b.dest, err = slackapp.NewDestination(cfg, slackapp.DestinationDeps{Replies: b.replies, Poster: poster,
		Callers: b.callers, Logger: logger, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) config() slackapp.Config {
	return slackapp.Config{SigningSecret: signingSecret, FallbackWebhookURL: b.fallback, AllowedHosts: []string{"127.0.0.1"},
		MaxBodyBytes: 16 << 10, AnswerBudget: 2500 * time.Millisecond, PostTimeout: 5 * time.Second}
}

// command is a slash command from user with a fresh response_url.
func (b *bundle) command(user, text string) slacksim.Command {
	b.trigger++
	return slacksim.Command{TeamID: team, UserID: user, ChannelID: "C0OPS", Text: text,
		ResponseURL: b.slack.NewResponseURL(), TriggerID: "trig-" + strings.Repeat("x", b.trigger)}
}

// send signs form as Slack would at ts and serves it with serve.
func (b *bundle) send(serve func(http.ResponseWriter, *http.Request), form map[string][]string, ts time.Time, hdr map[string]string) *httptest.ResponseRecorder {
	b.t.Helper()
	req, err := b.signer.Request("http://patchbay.test/slack/commands", form, ts)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	serve(rec, req)
	return rec
}

// run sends a command now and decodes the answer (which must be a 200).
func (b *bundle) run(c slacksim.Command) slack.WebhookMessage {
	b.t.Helper()
	rec := b.send(b.handler.ServeCommand, c.Form(), time.Now(), nil)
	return decodeAnswer(b.t, rec)
}

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) slack.WebhookMessage {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("answer %d: %s", rec.Code, rec.Body.String())
	}
	var msg slack.WebhookMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &msg); err != nil {
		t.Fatalf("answer is not a Slack message: %v: %s", err, rec.Body.String())
	}
	return msg
}

// text is every text of a message, blocks included.
func text(msg slack.WebhookMessage) string {
	data, _ := json.Marshal(msg)
	return string(data)
}

// changeID finds the change id in an answer.
func changeID(t *testing.T, msg slack.WebhookMessage) string {
	t.Helper()
	s := text(msg)
	i := strings.Index(s, "chg_")
	if i < 0 || len(s) < i+30 || !change.ValidID(s[i:i+30]) {
		t.Fatalf("no change id in %s", s)
	}
	return s[i : i+30]
}

// queued is the number of changes waiting in the work queue.
func (b *bundle) queued() uint64 {
	b.t.Helper()
	s, err := b.js.Stream(context.Background(), topology.ChangesStream)
	if err != nil {
		b.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return info.State.Msgs
}

// finish plays the worker: it takes the change's message off the queue and
// ends it in state (keeping the body for a retry when it failed).
func (b *bundle) finish(id string, state change.State) change.Record {
	b.t.Helper()
	ctx := context.Background()
	rec, rev, err := b.records.Get(ctx, id)
	if err != nil {
		b.t.Fatal(err)
	}
	s, err := b.js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		b.t.Fatal(err)
	}
	body := []byte("{}")
	if m, err := s.GetLastMsgForSubject(ctx, "patchbay.queue.*."+strings.ToLower(rec.Resource.Kind)+"."+rec.Resource.ID); err == nil {
		var msg change.Message
		_ = json.Unmarshal(m.Data, &msg)
		body = msg.Body
		_ = s.DeleteMsg(ctx, m.Sequence)
	}
	now := time.Now().UTC()
	rec.State, rec.UpdatedAt, rec.CompletedAt = state, now, &now
	rec.Attempts = append(rec.Attempts, change.Attempt{Number: 1, StartedAt: now, Status: 200, Generation: rec.Generation})
	if state == change.StateFailed {
		rec.Attempts[len(rec.Attempts)-1].Status = 422
		if err := b.records.SavePayload(ctx, id, body); err != nil {
			b.t.Fatal(err)
		}
		rec.Error = &apiErrorNotFound
	}
	if _, err := b.records.Update(ctx, rec, rev); err != nil {
		b.t.Fatal(err)
	}
	return rec
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func ioNopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }

func recorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// resign signs r's body with another secret.
func (b *bundle) resign(r *http.Request, secret string) string {
	body := readAll(b.t, r.Body)
	r.Body = io.NopCloser(strings.NewReader(body))
	sec, err := strconvParse(r.Header.Get("X-Slack-Request-Timestamp"))
	if err != nil {
		b.t.Fatal(err)
	}
	return slacksim.Signer{Secret: secret}.Signature(time.Unix(sec, 0), []byte(body))
}

func strconvParse(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// newDestination builds another Destination on b's stores with cfg.
func newDestination(t *testing.T, b *bundle, cfg slackapp.Config) *slackapp.Destination {
	t.Helper()
	poster, err := slackapp.NewPoster(cfg.AllowedHosts, cfg.PostTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := slackapp.NewDestination(cfg, slackapp.DestinationDeps{Replies: b.replies, Poster: poster, Callers: b.callers,
		Logger: slog.New(slog.NewJSONHandler(b.logs, nil)), Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
