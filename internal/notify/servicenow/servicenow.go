// Package servicenow is the ServiceNow destination: a work note on the
// record named by the change's ticket as "table:sys_id", through
// PATCH /api/now/table/{table}/{sys_id} with work_notes, authenticated with
// HTTP Basic or an OAuth bearer token.
package servicenow

import (
	"context"
	"errors"
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
type Settings = route.EventSettings

// ServiceNow is the destination.
type ServiceNow struct {
	cfg      Config
	base     *url.URL
	settings *route.PerCaller[Settings]
	client   notify.Doer
	now      func() time.Time
}

// New validates cfg against policy and parses every caller's settings.
func New(cfg Config, table *route.Table, policy outbound.Policy, client notify.Doer, now func() time.Time) (*ServiceNow, error) {
	if table == nil || client == nil || now == nil {
		return nil, errors.New("servicenow: nil dependency")
	}
	u, err := notify.SiteURL(cfg.BaseURL, "the ServiceNow URL must be an instance URL such as https://your-instance.service-now.com", policy)
	if err != nil {
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
	settings, err := route.ParseEventSettings(table, Name)
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
	u := s.base.JoinPath("api", "now", "table", table, sysID)
	return notify.SendJSON(ctx, s.client, http.MethodPatch, u, map[string]string{"work_notes": notify.Summarize(ev, s.cfg.PublicBaseURL).Text()},
		s.authorize, s.now)
}

// authorize sets the OAuth bearer token, or else HTTP Basic.
func (s *ServiceNow) authorize(r *http.Request) {
	if s.cfg.Token != "" {
		r.Header.Set("Authorization", "Bearer "+s.cfg.Token)
		return
	}
	r.SetBasicAuth(s.cfg.User, s.cfg.Password)
}
