package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/notify/jira"
	"github.com/patchbay/patchbay/internal/slackapp"
	"github.com/patchbay/patchbay/internal/slacksim"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

const slackSecret = "e2e-signing-secret-0123456789abcdef"

// slackStack is the stack with the Slack app on, the Slack simulator, and a
// Slack destination playing the notifier.
type slackStack struct {
	*stack
	slack    *slacksim.Server
	signer   slacksim.Signer
	dest     *slackapp.Destination
	fallback string
}

func newSlackStack(t *testing.T) *slackStack {
	t.Helper()
	sim := slacksim.New("", nil)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBase(srv.URL)
	path := filepath.Join(t.TempDir(), "callers.json")
	if err := os.WriteFile(path, []byte(`{"callers":[{"name":"chatops","slack_users":["T1/U1"],
		"operations":["networking.v1.peerings.update","notifications.v1.integrations.update","changes.read","changes.retry"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := slackapp.Config{SigningSecret: slackSecret, FallbackWebhookURL: sim.NewWebhookURL(), AllowedHosts: []string{"127.0.0.1"},
		MaxBodyBytes: 16 << 10, AnswerBudget: 2500 * time.Millisecond, PostTimeout: 5 * time.Second}
	st := newStack(t, ccloudsim.Options{}, func(c *app.APIConfig) { c.CallersFile, c.Slack = path, cfg })

	ctx := context.Background()
	replies, err := slackapp.NewReplies(ctx, st.js)
	if err != nil {
		t.Fatal(err)
	}
	poster, err := slackapp.NewPoster(cfg.AllowedHosts, cfg.PostTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	callers, err := intake.LoadCallersFile(path, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := slackapp.NewDestination(cfg, slackapp.DestinationDeps{Replies: replies, Poster: poster, Callers: callers,
		Logger: st.logger("notifier")})
	if err != nil {
		t.Fatal(err)
	}
	return &slackStack{stack: st, slack: sim, signer: slacksim.Signer{Secret: slackSecret}, dest: dest, fallback: cfg.FallbackWebhookURL}
}

// post sends a signed form to the api over HTTP.
func (s *slackStack) post(path string, form url.Values, hdr map[string]string) (int, slack.WebhookMessage) {
	s.t.Helper()
	req, err := s.signer.Request(s.apiURL+path, form, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var msg slack.WebhookMessage
	if resp.StatusCode == http.StatusOK && len(data) > 0 {
		if err := json.Unmarshal(data, &msg); err != nil {
			s.t.Fatalf("answer is not a Slack message: %s", data)
		}
	}
	return resp.StatusCode, msg
}

// notify plays the notifier: the terminal event of generation gen of id,
// delivered to the Slack destination.
func (s *slackStack) notify(id string, gen int) events.Event {
	s.t.Helper()
	evs := s.waitEvents([]string{id}, gen+1, 20*time.Second)[id]
	ev := evs[gen]
	ok, err := s.dest.Wants(context.Background(), ev)
	if err != nil || !ok {
		s.t.Fatalf("destination wants %s: %v %v", id, ok, err)
	}
	raw, _ := json.Marshal(ev)
	if err := s.dest.Deliver(context.Background(), ev, raw); err != nil {
		s.t.Fatalf("deliver %s: %v", id, err)
	}
	return ev
}

func idIn(t *testing.T, msg slack.WebhookMessage) string {
	t.Helper()
	data, _ := json.Marshal(msg)
	s := string(data)
	i := strings.Index(s, "chg_")
	if i < 0 || len(s) < i+30 || !change.ValidID(s[i:i+30]) {
		t.Fatalf("no change id in %s", s)
	}
	return s[i : i+30]
}

func msgText(m slack.WebhookMessage) string { data, _ := json.Marshal(m); return string(data) }

// TestSlackEndToEnd: a slash command through the real api is answered
// before any worker runs, the worker applies it, and the result reaches
// the command's response_url; a failed change's Retry button re-queues it
// and its new result reaches the click's response_url.
func TestSlackEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSlackStack(t)
	ok := slacksim.Command{TeamID: "T1", UserID: "U1", ChannelID: "C1", TriggerID: "t-ok",
		Text: `peering p-1 environment=env-1 display_name="from slack"`, ResponseURL: s.slack.NewResponseURL()}
	code, answer := s.post("/slack/commands", ok.Form(), nil)
	if code != http.StatusOK || answer.ResponseType != "ephemeral" {
		t.Fatalf("answer %d %s", code, msgText(answer))
	}
	id := idIn(t, answer)
	// Slack retries the command: the same change.
	if _, again := s.post("/slack/commands", ok.Form(), map[string]string{"X-Slack-Retry-Num": "1"}); idIn(t, again) != id {
		t.Fatalf("Slack's retry made change %s, want %s", idIn(t, again), id)
	}
	if n := s.queued(); n != 1 {
		t.Fatalf("%d changes queued before any worker ran, want 1", n)
	}

	bad := slacksim.Command{TeamID: "T1", UserID: "U1", ChannelID: "C1", TriggerID: "t-bad",
		Text: `peering p-nope environment=env-1`, ResponseURL: s.slack.NewResponseURL()}
	_, answer = s.post("/slack/commands", bad.Form(), nil)
	badID := idIn(t, answer)

	s.startWorker(s.workerConfig())
	if rec := s.waitTerminal(id, 20*time.Second); rec.State != change.StateSucceeded || rec.RequestedBy != "chatops (slack T1/U1)" {
		t.Fatalf("change %s %s requested_by %q", id, rec.State, rec.RequestedBy)
	}
	s.notify(id, 0)
	if posts := s.slack.Posts(ok.ResponseURL); len(posts) != 1 || !strings.Contains(msgText(posts[0].Message), "succeeded") {
		t.Fatalf("response_url got %d posts: %v", len(posts), posts)
	}

	if rec := s.waitTerminal(badID, 20*time.Second); rec.State != change.StateFailed {
		t.Fatalf("change %s %s, want failed", badID, rec.State)
	}
	s.notify(badID, 0)
	posts := s.slack.Posts(bad.ResponseURL)
	if len(posts) != 1 || !strings.Contains(msgText(posts[0].Message), "patchbay_retry") {
		t.Fatalf("failed result: %v", posts)
	}

	clickURL := s.slack.NewResponseURL()
	form, err := slacksim.ButtonClick{TeamID: "T1", UserID: "U1", ChannelID: "C1", ActionID: slackapp.RetryActionID,
		Value: badID, ResponseURL: clickURL}.Form()
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := s.post("/slack/interactions", form, nil); code != http.StatusOK {
		t.Fatalf("click answered %d", code)
	}
	s.waitEvents([]string{badID}, 2, 20*time.Second)
	s.notify(badID, 1)
	testkit.Eventually(t, 5*time.Second, "the click's answer and the retried result", func() (bool, string) {
		return len(s.slack.Posts(clickURL)) == 2, msgText(slack.WebhookMessage{})
	})
	got := s.slack.Posts(clickURL)
	if !strings.Contains(msgText(got[0].Message), "Re-queued") || !strings.Contains(msgText(got[1].Message), "failed") {
		t.Errorf("click answer and result: %s / %s", msgText(got[0].Message), msgText(got[1].Message))
	}
	for _, secret := range []string{slackSecret, ok.ResponseURL, bad.ResponseURL, clickURL, s.fallback} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("logs show a secret %.25s...", secret)
		}
	}
}

func TestSlackDisabledAndConfig(t *testing.T) {
	t.Parallel()
	st := newStack(t, ccloudsim.Options{})
	for _, p := range []string{"/slack/commands", "/slack/interactions"} {
		resp, data := st.do(http.MethodPost, p, "", "application/x-www-form-urlencoded", []byte("text=help"), nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(data), "slack_disabled") {
			t.Errorf("%s without SLACK_SIGNING_SECRET: %d %s", p, resp.StatusCode, data)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  app.APIConfig
		want string
	}{
		{"short secret", app.APIConfig{APITokens: "a=" + testToken, Slack: slackapp.Config{SigningSecret: "short", AllowedHosts: []string{"hooks.slack.com"}}}, "SLACK_SIGNING_SECRET"},
		{"no callers", app.APIConfig{InsecureAuth: true, Slack: slackapp.Config{SigningSecret: slackSecret, AllowedHosts: []string{"hooks.slack.com"},
			MaxBodyBytes: 16 << 10, AnswerBudget: time.Second, PostTimeout: time.Second}}, "SLACK_SIGNING_SECRET"},
		{"fallback off the allowlist", app.APIConfig{APITokens: "a=" + testToken, Slack: slackapp.Config{SigningSecret: slackSecret,
			AllowedHosts: []string{"hooks.slack.com"}, FallbackWebhookURL: "https://evil.test/hook", MaxBodyBytes: 16 << 10,
			AnswerBudget: time.Second, PostTimeout: time.Second}}, "SLACK_FALLBACK_WEBHOOK_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MaxBodyBytes, tc.cfg.NATS = 64<<10, topology.Settings{URL: "nats://127.0.0.1:1", Replicas: 1, Partitions: 1, AckWait: time.Second}
			_, err := app.NewAPI(context.Background(), tc.cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("NewAPI: %v, want an error starting with %s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "evil.test/hook") {
				t.Error("the error repeats the webhook URL")
			}
		})
	}
}

// TestSlackResultsThroughTheNotifier: with the real notifier (not the
// destination called by hand), a command's result reaches its response_url
// once, after Slack answered the first post 429 with Retry-After; a failed
// change's result carries the Retry button.
func TestSlackResultsThroughTheNotifier(t *testing.T) {
	t.Parallel()
	s := newSlackStack(t)
	ncfg := s.notifierConfig("")
	ncfg.Routes.Default = ""
	ncfg.Jira = jira.EnvConfig{}
	ncfg.Slack = slackapp.Config{SigningSecret: slackSecret, FallbackWebhookURL: s.fallback, AllowedHosts: []string{"127.0.0.1"},
		MaxBodyBytes: 16 << 10, AnswerBudget: 2500 * time.Millisecond, PostTimeout: 5 * time.Second}
	s.startNotifier(ncfg)
	s.startWorker(s.workerConfig())

	ok := slacksim.Command{TeamID: "T1", UserID: "U1", ChannelID: "C1", TriggerID: "t-n-ok",
		Text: `peering p-1 environment=env-1 display_name="via notifier"`, ResponseURL: s.slack.NewResponseURL()}
	s.slack.Fail(ok.ResponseURL, 1, http.StatusTooManyRequests, 1)
	bad := slacksim.Command{TeamID: "T1", UserID: "U1", ChannelID: "C1", TriggerID: "t-n-bad",
		Text: `peering p-nope environment=env-1`, ResponseURL: s.slack.NewResponseURL()}
	for _, c := range []slacksim.Command{ok, bad} {
		if code, answer := s.post("/slack/commands", c.Form(), nil); code != http.StatusOK {
			t.Fatalf("answer %d %s", code, msgText(answer))
		}
	}
	for _, tc := range []struct {
		url, want string
	}{{ok.ResponseURL, "succeeded"}, {bad.ResponseURL, slackapp.RetryActionID}} {
		testkit.Eventually(t, 30*time.Second, "result at "+tc.url, func() (bool, string) {
			posts := s.slack.Posts(tc.url)
			return len(posts) == 1 && strings.Contains(msgText(posts[0].Message), tc.want), fmt.Sprintf("%d posts", len(posts))
		})
	}
	if n := s.slack.Attempts(ok.ResponseURL); n != 2 {
		t.Errorf("response_url saw %d attempts, want 2 (a 429, then the post)", n)
	}
}
