// Package servicenow is the ServiceNow destination: a work note on the
// record named by the change's ticket as "table:sys_id", through
// PATCH /api/now/table/{table}/{sys_id} with work_notes, authenticated with
// HTTP Basic or an OAuth bearer token.
package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/ticket"
	"github.com/patchbay/patchbay/internal/outbound"
)

// Name is the destination name (the key in a caller's notify object).
const Name = "servicenow"

// Config is the operator's instance and credentials: User and Password
// (Basic), or Token (OAuth bearer).
type Config struct {
	// BaseURL is the instance, "https://your-instance.service-now.com".
	BaseURL  string
	User     string
	Password string
	Token    string
	// PublicBaseURL is the intake's public URL, for the link to the record.
	PublicBaseURL string
}

// Settings are a caller's "servicenow" notify settings.
type Settings struct {
	// Events chooses the states (default: succeeded and failed).
	Events route.Events `json:"events,omitempty"`
}

// Doer sends HTTP requests (the outbound client).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// ServiceNow is the destination.
type ServiceNow struct {
	cfg      Config
	base     *url.URL
	settings *route.PerCaller[Settings]
	client   Doer
	now      func() time.Time
}

// New validates cfg against policy and parses every caller's settings.
func New(cfg Config, table *route.Table, policy outbound.Policy, client Doer, now func() time.Time) (*ServiceNow, error) {
	if table == nil || client == nil || now == nil {
		return nil, errors.New("servicenow: nil dependency")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || !u.IsAbs() || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("the ServiceNow URL must be an instance URL such as https://your-instance.service-now.com")
	}
	if err := policy.CheckURL(u); err != nil {
		return nil, err
	}
	basic := cfg.User != "" || cfg.Password != ""
	switch {
	case basic && cfg.Token != "":
		return nil, errors.New("set a user and password or a token, not both")
	case basic && (cfg.User == "" || cfg.Password == ""):
		return nil, errors.New("basic auth needs both the user and the password")
	case !basic && cfg.Token == "":
		return nil, errors.New("credentials are required (user and password, or a token)")
	}
	s := &ServiceNow{cfg: cfg, base: u, client: client, now: now}
	settings, err := route.ParsePerCaller(table, Name, func(st Settings) (*Settings, error) {
		return &st, st.Events.Validate()
	})
	if err != nil {
		return nil, err
	}
	s.settings = settings
	return s, nil
}

// Name implements notify.Destination.
func (s *ServiceNow) Name() string { return Name }

// Wants implements notify.Destination: the caller chose ServiceNow and this
// state, and the ticket has the table:sys_id form (validated on delivery,
// so that a malformed one is refused visibly).
func (s *ServiceNow) Wants(_ context.Context, ev events.Event) (bool, error) {
	st := s.settings.For(ev.Data.RequestedBy)
	return st != nil && st.Events.Wants(ev.Data.State) && ticket.IsServiceNowLike(ev.Data.Ticket), nil
}

// Deliver implements notify.Destination.
func (s *ServiceNow) Deliver(ctx context.Context, ev events.Event, _ []byte) error {
	table, sysID, err := ticket.ServiceNow(ev.Data.Ticket)
	if err != nil {
		return notify.Permanent("invalid_ticket", "the ticket is not table:sys_id")
	}
	body, err := json.Marshal(map[string]string{"work_notes": notify.Summarize(ev, s.cfg.PublicBaseURL).Text()})
	if err != nil {
		return notify.Permanent("encode_failed", "encode: %w", err)
	}
	u := s.base.JoinPath("api", "now", "table", table, sysID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u.String(), bytes.NewReader(body))
	if err != nil {
		return notify.Permanent("bad_request", "build request")
	}
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	} else {
		req.SetBasicAuth(s.cfg.User, s.cfg.Password)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "patchbay-notifier")
	resp, err := s.client.Do(req)
	if err != nil {
		return notify.TransportError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return notify.Classify(resp, s.now())
}
