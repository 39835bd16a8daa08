package slackapp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the Slack app's configuration. The app is enabled when
// SLACK_SIGNING_SECRET is set.
type Config struct {
	// SigningSecret is the Slack app's signing secret.
	SigningSecret string `env:"SLACK_SIGNING_SECRET" json:"-"`
	// FallbackWebhookURL is an incoming webhook that receives a result whose
	// command's response_url can no longer be used (30 minutes, 5 posts),
	// unless the caller names its own (slack_fallback_webhook_env).
	FallbackWebhookURL string `env:"SLACK_FALLBACK_WEBHOOK_URL" json:"-"`
	// AllowedHosts are the only hosts results are posted to (response_url
	// and webhooks). Posts use https, except to a loopback address.
	AllowedHosts []string `env:"SLACK_ALLOWED_HOSTS, default=hooks.slack.com"`
	// MaxBodyBytes limits a Slack request body (413 beyond), checked before
	// the body is read.
	MaxBodyBytes int64 `env:"SLACK_MAX_BODY_BYTES, default=16384"`
	// AnswerBudget bounds the work done before answering a request; Slack
	// gives up after 3 seconds.
	AnswerBudget time.Duration `env:"SLACK_ANSWER_BUDGET, default=2500ms"`
	// PostTimeout bounds one post to Slack.
	PostTimeout time.Duration `env:"SLACK_POST_TIMEOUT, default=10s"`
}

// Enabled reports whether the Slack app is configured.
func (c Config) Enabled() bool { return c.SigningSecret != "" }

// Validate checks the configuration, naming the variable at fault. A
// disabled app is valid.
func (c Config) Validate() error {
	if !c.Enabled() {
		if c.FallbackWebhookURL != "" {
			return errors.New("SLACK_FALLBACK_WEBHOOK_URL: set, but SLACK_SIGNING_SECRET is not")
		}
		return nil
	}
	switch {
	case len(c.SigningSecret) < 16:
		return errors.New("SLACK_SIGNING_SECRET: shorter than 16 characters (copy it from the app's Basic Information page)")
	case len(c.AllowedHosts) == 0:
		return errors.New("SLACK_ALLOWED_HOSTS: empty (hooks.slack.com at least)")
	case c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<20:
		return fmt.Errorf("SLACK_MAX_BODY_BYTES: %d not in 1024..1048576", c.MaxBodyBytes)
	case c.AnswerBudget <= 0 || c.AnswerBudget > 3*time.Second:
		return fmt.Errorf("SLACK_ANSWER_BUDGET: %s not in (0, 3s]", c.AnswerBudget)
	case c.PostTimeout <= 0:
		return fmt.Errorf("SLACK_POST_TIMEOUT: %s is not positive", c.PostTimeout)
	}
	for _, h := range c.AllowedHosts {
		if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, "/@ ") {
			return fmt.Errorf("SLACK_ALLOWED_HOSTS: %q is not a host name", h)
		}
	}
	if c.FallbackWebhookURL != "" {
		u, err := url.Parse(c.FallbackWebhookURL)
		if err != nil || u.Host == "" {
			return errors.New("SLACK_FALLBACK_WEBHOOK_URL: not an absolute URL") // never repeat the value
		}
		if err := newHostPolicy(c.AllowedHosts).check(u); err != nil {
			return fmt.Errorf("SLACK_FALLBACK_WEBHOOK_URL: %w", err)
		}
	}
	return nil
}
