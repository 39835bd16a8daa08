// Package webhook is the signed-callback destination: it POSTs the result
// event (structured CloudEvents JSON, exactly as stored) to the caller's
// URL, signed as the Standard Webhooks specification says (webhook-id is
// the CloudEvent id, the receiver's de-duplication key).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/outbound"
)

// Name is the destination name (the key in a caller's notify object).
const Name = "webhook"

// Settings are a caller's "webhook" notify settings.
type Settings struct {
	// URL receives the callbacks; its host must be on the allowlist.
	URL string `json:"url"`
	// The signing secrets ("whsec_<base64>"), by reference. The value may
	// hold several secrets separated by spaces: during a rotation every
	// one signs, and the receiver accepts any.
	route.SecretRef
	// Events chooses the states (default: succeeded and failed).
	Events route.Events `json:"events,omitempty"`
}

// target is a parsed, validated caller setting.
type target struct {
	url     string
	signers []*standardwebhooks.Webhook
	events  route.Events
}

// Webhook is the destination.
type Webhook struct {
	targets *route.PerCaller[target]
	client  notify.Doer
	now     func() time.Time
	secrets []string
}

// New parses every caller's "webhook" settings in table, resolves the
// secrets (lookupEnv is os.LookupEnv in production) and checks each URL
// against policy, so a bad setting stops the notifier at start.
func New(table *route.Table, policy outbound.Policy, client notify.Doer, lookupEnv func(string) (string, bool), now func() time.Time) (*Webhook, error) {
	if table == nil || client == nil || lookupEnv == nil || now == nil {
		return nil, errors.New("webhook: nil dependency")
	}
	w := &Webhook{client: client, now: now}
	targets, err := route.ParsePerCaller(table, Name, func(st Settings) (*target, error) {
		return w.target(st, table.Dir, policy, lookupEnv)
	})
	if err != nil {
		return nil, err
	}
	w.targets = targets
	return w, nil
}

func (w *Webhook) target(s Settings, dir string, policy outbound.Policy, lookupEnv func(string) (string, bool)) (*target, error) {
	u, err := url.Parse(s.URL)
	if err != nil || !u.IsAbs() {
		return nil, errors.New("url must be an absolute URL")
	}
	if err := policy.CheckURL(u); err != nil {
		return nil, err
	}
	if err := s.Events.Validate(); err != nil {
		return nil, err
	}
	secret, err := s.SecretRef.Resolve(dir, lookupEnv)
	if err != nil {
		return nil, err
	}
	t := &target{url: u.String(), events: s.Events}
	for _, sec := range strings.Fields(secret) {
		if !strings.HasPrefix(sec, "whsec_") {
			return nil, errors.New("every signing secret must be whsec_<base64>")
		}
		signer, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			return nil, errors.New("a signing secret is not whsec_<base64 of at least 24 bytes>")
		}
		if raw, _ := decodedLen(sec); raw < 24 {
			return nil, errors.New("a signing secret is shorter than 24 bytes (the spec asks for 24 to 64)")
		}
		t.signers = append(t.signers, signer)
		w.secrets = append(w.secrets, sec)
	}
	if len(t.signers) == 0 {
		return nil, errors.New("no signing secret")
	}
	return t, nil
}

// Secrets returns the signing secrets (for the log redactor).
func (w *Webhook) Secrets() []string { return w.secrets }

// Name implements notify.Destination.
func (w *Webhook) Name() string { return Name }

// Wants implements notify.Destination: the caller (or the default) has a
// webhook that chose the event's state.
func (w *Webhook) Wants(_ context.Context, ev events.Event) (bool, error) {
	t := w.targets.For(ev.Data.RequestedBy)
	return t != nil && t.events.Wants(ev.Data.State), nil
}

// RateScope implements notify.RateScoper: a webhook receiver's rate limit
// is its host's, so a 429 from one caller's receiver pauses only that host.
func (w *Webhook) RateScope(ev events.Event) string {
	t := w.targets.For(ev.Data.RequestedBy)
	if t == nil {
		return ""
	}
	if u, err := url.Parse(t.url); err == nil {
		return u.Host
	}
	return ""
}

// Deliver implements notify.Destination.
func (w *Webhook) Deliver(ctx context.Context, ev events.Event, raw []byte) error {
	t := w.targets.For(ev.Data.RequestedBy)
	if t == nil {
		return notify.Permanent("no_route", "no webhook for this caller any more")
	}
	ts := w.now()
	sigs := make([]string, 0, len(t.signers))
	for _, s := range t.signers {
		sig, err := s.Sign(ev.ID, ts, raw)
		if err != nil {
			return notify.Permanent("signing_failed", "sign: %w", err)
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(raw))
	if err != nil {
		return notify.Permanent("bad_request", "build request")
	}
	req.Header.Set("Content-Type", events.ContentType)
	req.Header.Set(standardwebhooks.HeaderWebhookID, ev.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	// A 410 (the specification: the receiver wants no more) is permanent,
	// as every 4xx but 408, 425 and 429 is.
	return notify.Send(w.client, req, w.now)
}
