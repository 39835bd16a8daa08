package slackapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ErrHostNotAllowed: a post would go to a host not in SLACK_ALLOWED_HOSTS.
var ErrHostNotAllowed = errors.New("slackapp: host not in SLACK_ALLOWED_HOSTS")

// hostPolicy is the outbound allowlist: exact host names (with or without
// port), https only except for loopback addresses.
type hostPolicy struct {
	hosts map[string]bool
}

func newHostPolicy(hosts []string) hostPolicy {
	p := hostPolicy{hosts: map[string]bool{}}
	for _, h := range hosts {
		p.hosts[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return p
}

// check reports whether a post to u is allowed. The error never contains
// the URL (response_url and webhook URLs are secrets).
func (p hostPolicy) check(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	if !p.hosts[host] && !p.hosts[strings.ToLower(u.Host)] {
		return fmt.Errorf("%w: %s", ErrHostNotAllowed, host)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%w: plain http to %s", ErrHostNotAllowed, host)
	default:
		return fmt.Errorf("%w: scheme %q", ErrHostNotAllowed, u.Scheme)
	}
}

// allows is check as a bool, for a raw URL.
func (p hostPolicy) allows(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && p.check(u) == nil
}

// guardedTransport refuses requests outside the policy, redirects included.
type guardedTransport struct {
	policy hostPolicy
	next   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t guardedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.policy.check(r.URL); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(r)
}

// Poster posts Block Kit messages to response_url and incoming webhook URLs
// through slack-go, only to allowed hosts, never following redirects.
type Poster struct {
	client *http.Client
	policy hostPolicy
}

// NewPoster returns a Poster for the allowed hosts; next is the transport
// (nil means http.DefaultTransport).
func NewPoster(allowedHosts []string, timeout time.Duration, next http.RoundTripper) (*Poster, error) {
	if len(allowedHosts) == 0 || timeout <= 0 {
		return nil, errors.New("slackapp: NewPoster: no allowed hosts or no timeout")
	}
	if next == nil {
		next = http.DefaultTransport
	}
	policy := newHostPolicy(allowedHosts)
	return &Poster{policy: policy, client: &http.Client{
		Timeout:       timeout,
		Transport:     guardedTransport{policy: policy, next: next},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Allows reports whether raw may be posted to.
func (p *Poster) Allows(raw string) bool { return p.policy.allows(raw) }

// PostError is a failed post, classified. It never holds the URL.
type PostError struct {
	// Status is the HTTP status (0: no answer).
	Status int
	// RetryAfter is the wait asked for with a 429.
	RetryAfter time.Duration
	// Err is the cause, with any URL removed.
	Err error
}

// Error implements error.
func (e *PostError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("slack post: HTTP %d", e.Status)
	}
	return "slack post: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *PostError) Unwrap() error { return e.Err }

// Retryable reports whether another attempt may succeed: a 429, a 5xx or no
// answer, but not a refused host.
func (e *PostError) Retryable() bool {
	switch {
	case errors.Is(e.Err, ErrHostNotAllowed):
		return false
	case e.Status == 0, e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	default:
		return false
	}
}

// Gone reports whether the URL can no longer be used (Slack answers 404
// expired_url or used_url, or 410).
func (e *PostError) Gone() bool {
	return e.Status == http.StatusNotFound || e.Status == http.StatusGone
}

// Post sends msg to rawURL. A failure is a *PostError.
func (p *Poster) Post(ctx context.Context, rawURL string, msg *slack.WebhookMessage) error {
	if !p.policy.allows(rawURL) {
		return &PostError{Err: ErrHostNotAllowed}
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, rawURL, p.client, msg)
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var num *strconv.NumError
	switch {
	case errors.As(err, &rl):
		return &PostError{Status: http.StatusTooManyRequests, RetryAfter: rl.RetryAfter, Err: errors.New("rate limited")}
	case errors.As(err, &sc):
		return &PostError{Status: sc.Code, Err: errors.New(http.StatusText(sc.Code))}
	case errors.As(err, &num): // a 429 whose Retry-After is not a number
		return &PostError{Status: http.StatusTooManyRequests, Err: errors.New("rate limited")}
	case errors.Is(err, ErrHostNotAllowed):
		return &PostError{Err: ErrHostNotAllowed}
	default:
		// Transport errors name the URL (*url.Error): keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			return &PostError{Err: ue.Err}
		}
		return &PostError{Err: errors.New("request failed")}
	}
}
