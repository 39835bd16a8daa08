// Package jira is the Jira Cloud destination: a comment on the issue named
// by the change's ticket (X-Patchbay-Ticket), through REST v3
// POST /rest/api/3/issue/{issueIdOrKey}/comment with an Atlassian Document
// Format body and HTTP Basic auth (account e-mail and API token).
package jira

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/ticket"
	"github.com/patchbay/patchbay/internal/outbound"
)

// Name is the destination name (the key in a caller's notify object).
const Name = "jira"

// Config is the operator's Jira Cloud site and credentials.
type Config struct {
	// BaseURL is the site, "https://your-domain.atlassian.net".
	BaseURL string
	// Email and APIToken authenticate (HTTP Basic).
	Email    string
	APIToken string
	// PublicBaseURL is the intake's public URL, for the link to the record.
	PublicBaseURL string
}

// Settings are a caller's "jira" notify settings.
type Settings = route.EventSettings

// Jira is the destination.
type Jira struct {
	cfg      Config
	base     *url.URL
	settings *route.PerCaller[Settings]
	client   notify.Doer
	now      func() time.Time
}

// New validates cfg against policy and parses every caller's "jira" settings.
func New(cfg Config, table *route.Table, policy outbound.Policy, client notify.Doer, now func() time.Time) (*Jira, error) {
	if table == nil || client == nil || now == nil {
		return nil, errors.New("jira: nil dependency")
	}
	u, err := notify.SiteURL(cfg.BaseURL, "the Jira URL must be a site URL such as https://your-domain.atlassian.net", policy)
	if err != nil {
		return nil, err
	}
	if cfg.Email == "" || cfg.APIToken == "" {
		return nil, errors.New("the Jira e-mail and API token are required")
	}
	j := &Jira{cfg: cfg, base: u, client: client, now: now}
	settings, err := route.ParseEventSettings(table, Name)
	if err != nil {
		return nil, err
	}
	j.settings = settings
	return j, nil
}

// Name implements notify.Destination.
func (j *Jira) Name() string { return Name }

// Wants implements notify.Destination: the caller chose Jira and this state,
// and the change names a ticket that is not a ServiceNow one. A malformed
// ticket is wanted, so that its refusal is visible on the record.
func (j *Jira) Wants(_ context.Context, ev events.Event) (bool, error) {
	s := j.settings.For(ev.Data.RequestedBy)
	t := ev.Data.Ticket
	return s != nil && s.Events.Wants(ev.Data.State) && t != "" && !ticket.IsServiceNowLike(t), nil
}

// Deliver implements notify.Destination.
func (j *Jira) Deliver(ctx context.Context, ev events.Event, _ []byte) error {
	key, err := ticket.Jira(ev.Data.Ticket)
	if err != nil {
		return notify.Permanent("invalid_ticket", "the ticket is not a Jira issue key")
	}
	u := j.base.JoinPath("rest", "api", "3", "issue", key, "comment")
	return notify.SendJSON(ctx, j.client, http.MethodPost, u, comment(notify.Summarize(ev, j.cfg.PublicBaseURL)),
		func(r *http.Request) { r.SetBasicAuth(j.cfg.Email, j.cfg.APIToken) }, j.now)
}

// comment builds the ADF comment. The event id is a comment property, so a
// duplicate (at-least-once) can be recognised.
func comment(s notify.Summary) map[string]any {
	text := func(t string, marks ...string) map[string]any {
		n := map[string]any{"type": "text", "text": t}
		if len(marks) > 0 {
			ms := make([]map[string]any, 0, len(marks))
			for _, m := range marks {
				ms = append(ms, map[string]any{"type": m})
			}
			n["marks"] = ms
		}
		return n
	}
	link := func(t, href string) map[string]any {
		return map[string]any{"type": "text", "text": t, "marks": []map[string]any{{"type": "link", "attrs": map[string]any{"href": href}}}}
	}
	para := func(content ...map[string]any) map[string]any {
		return map[string]any{"type": "paragraph", "content": content}
	}
	blocks := []map[string]any{
		para(text(s.Headline, "strong")),
		para(text("Outcome: "), text(s.Outcome, "code")),
		para(text("Operation: " + s.Operation + ", resource " + s.Resource)),
	}
	if s.UpstreamRequestID != "" {
		blocks = append(blocks, para(text("Upstream request id: "), text(s.UpstreamRequestID, "code")))
	}
	if s.Link != "" {
		blocks = append(blocks, para(text("Change record: "), link(s.Link, s.Link)))
	}
	blocks = append(blocks, para(text("Patchbay event "+strings.TrimSpace(s.EventID))))
	return map[string]any{
		"body":       map[string]any{"type": "doc", "version": 1, "content": blocks},
		"properties": []map[string]any{{"key": "patchbay", "value": map[string]any{"event_id": s.EventID}}},
	}
}
