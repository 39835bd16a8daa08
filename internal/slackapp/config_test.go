package slackapp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/slackapp"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := slackapp.Config{SigningSecret: signingSecret, AllowedHosts: []string{"hooks.slack.com"}, MaxBodyBytes: 16 << 10,
		AnswerBudget: 2500 * time.Millisecond, PostTimeout: 10 * time.Second, FallbackWebhookURL: secretWebhook}
	for _, tc := range []struct {
		name string
		mod  func(*slackapp.Config)
		want string // "" valid
	}{
		{"valid", func(*slackapp.Config) {}, ""},
		{"disabled", func(c *slackapp.Config) { *c = slackapp.Config{} }, ""},
		{"fallback without the app", func(c *slackapp.Config) { c.SigningSecret = "" }, "SLACK_FALLBACK_WEBHOOK_URL"},
		{"short secret", func(c *slackapp.Config) { c.SigningSecret = "abc" }, "SLACK_SIGNING_SECRET"},
		{"no hosts", func(c *slackapp.Config) { c.AllowedHosts = nil }, "SLACK_ALLOWED_HOSTS"},
		{"bad host", func(c *slackapp.Config) { c.AllowedHosts = []string{"https://hooks.slack.com/"} }, "SLACK_ALLOWED_HOSTS"},
		{"tiny body", func(c *slackapp.Config) { c.MaxBodyBytes = 10 }, "SLACK_MAX_BODY_BYTES"},
		{"budget over 3s", func(c *slackapp.Config) { c.AnswerBudget = 4 * time.Second }, "SLACK_ANSWER_BUDGET"},
		{"no post timeout", func(c *slackapp.Config) { c.PostTimeout = 0 }, "SLACK_POST_TIMEOUT"},
		{"fallback off the allowlist", func(c *slackapp.Config) { c.FallbackWebhookURL = "https://example.test/hook/secret" }, "SLACK_FALLBACK_WEBHOOK_URL"},
		{"fallback over http", func(c *slackapp.Config) { c.FallbackWebhookURL = "http://hooks.slack.com/services/x" }, "SLACK_FALLBACK_WEBHOOK_URL"},
		{"fallback not a URL", func(c *slackapp.Config) { c.FallbackWebhookURL = "hooks" }, "SLACK_FALLBACK_WEBHOOK_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("error %v, want one starting with %s", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "/hook/secret"):
				t.Fatal("the error repeats the URL")
			}
		})
	}
}

func TestPosterRefusesRedirectsAndOtherHosts(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	p, err := slackapp.NewPoster([]string{"127.0.0.1"}, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := &slack.WebhookMessage{Text: "x"}
	var pe *slackapp.PostError
	if err := p.Post(context.Background(), redirect.URL+"/hook", msg); !errors.As(err, &pe) || pe.Status != http.StatusTemporaryRedirect || pe.Retryable() {
		t.Errorf("redirect: %v", err)
	}
	if hits.Load() != 0 {
		t.Error("the redirect was followed")
	}
	for _, u := range []string{"https://example.test/hook", "ftp://127.0.0.1/x", strings.Replace(target.URL, "127.0.0.1", "localhost", 1)} {
		err := p.Post(context.Background(), u, msg)
		if !errors.Is(err, slackapp.ErrHostNotAllowed) || !errors.As(err, &pe) || pe.Retryable() {
			t.Errorf("%s: %v", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Error("posted outside the allowlist")
	}
}
