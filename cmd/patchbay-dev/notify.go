package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/outbound"
	"github.com/patchbay/patchbay/internal/ticketsim"
	"github.com/patchbay/patchbay/internal/topology"
)

// Development credentials of the ticketing simulators (never real ones).
const (
	devJiraEmail   = "patchbay-dev@example.com"
	devJiraToken   = "dev-jira-api-token"
	devSNUser      = "patchbay-dev"
	devSNPassword  = "dev-servicenow-password"
	devHookSecret  = "whsec_ZGV2LXdlYmhvb2stc2lnbmluZy1zZWNyZXQtMTIz"
	devHookEnv     = "PATCHBAY_DEV_HOOK_SECRET"
	devSNRecord    = "change_request:0123456789abcdef0123456789abcdef"
	devJiraIssue   = "OPS-1"
	devHookPath    = "/hooks/patchbay"
	devDefaultJSON = `{"webhook":{"url":"http://%s` + devHookPath + `","secret_env":"` + devHookEnv + `"},"jira":{},"servicenow":{}}`
)

// ticketSims are the receivers of the dev notifier.
type ticketSims struct {
	servers []*http.Server
}

// startTicketSims serves the Jira, ServiceNow and webhook receiver simulators.
func startTicketSims(cfg Config) (*ticketSims, error) {
	recv, err := ticketsim.NewReceiver(devHookSecret, time.Now)
	if err != nil {
		return nil, err
	}
	s := &ticketSims{}
	for _, h := range []struct {
		addr, name string
		h          http.Handler
	}{
		{cfg.JiraAddr, "PATCHBAY_DEV_JIRA_ADDR", ticketsim.NewJira(devJiraEmail, devJiraToken, time.Now, devJiraIssue, "OPS-2")},
		{cfg.ServiceNowAddr, "PATCHBAY_DEV_SERVICENOW_ADDR", ticketsim.NewServiceNow(devSNUser, devSNPassword, "", time.Now, devSNRecord)},
		{cfg.HookAddr, "PATCHBAY_DEV_HOOK_ADDR", recv},
	} {
		ln, err := net.Listen("tcp", h.addr)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%s: %w", h.name, err)
		}
		srv := &http.Server{Handler: h.h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		s.servers = append(s.servers, srv)
	}
	return s, nil
}

func (s *ticketSims) close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// notifierConfig points the notifier at the simulators: every caller's
// results go to all three (the default route).
func (s *ticketSims) notifierConfig(nats topology.Settings, cfg Config) app.NotifierConfig {
	c := app.NotifierConfig{NATS: nats, MetricsAddr: cfg.NotifierMetrics, LogLevel: cfg.LogLevel,
		PublicURL: "http://" + cfg.HTTPAddr,
		Notify: notify.EnvConfig{Concurrency: 16, Timeout: 10 * time.Second, MaxAttempts: 12, MaxAge: time.Hour,
			MaxWait: time.Minute, BackoffBase: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
		Outbound: outbound.EnvConfig{AllowedHosts: "127.0.0.1,localhost", AllowPrivate: true, AllowHTTP: true},
		LookupEnv: func(k string) (string, bool) {
			if k == devHookEnv {
				return devHookSecret, true
			}
			return "", false
		},
	}
	c.Routes.Default = fmt.Sprintf(devDefaultJSON, cfg.HookAddr)
	c.Jira.URL, c.Jira.Email, c.Jira.APIToken = "http://"+cfg.JiraAddr, devJiraEmail, devJiraToken
	c.ServiceNow.URL, c.ServiceNow.User, c.ServiceNow.Password = "http://"+cfg.ServiceNowAddr, devSNUser, devSNPassword
	return c
}

func printNotifyBanner(cfg Config) {
	fmt.Printf(`Results go back where the request came from (notifier; simulators for Jira, ServiceNow
and a webhook receiver that verifies Standard Webhooks signatures). Name a ticket:

  curl -sS -i -X PATCH http://%[1]s/networking/v1/peerings/p-demo2 \
    -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' \
    -H 'X-Patchbay-Ticket: %[3]s' \
    -d '{"spec":{"display_name":"ticketed","environment":{"id":"env-demo"}}}'

and see the comment land (with X-Patchbay-Ticket: %[4]s, a ServiceNow work note):

  curl -sS http://%[5]s%[8]s     # Jira comments
  curl -sS http://%[6]s%[8]s     # ServiceNow work notes
  curl -sS http://%[7]s%[8]s     # signed callbacks (verified)

The change record shows each delivery under "notifications".

`, cfg.HTTPAddr, cfg.Token, devJiraIssue, devSNRecord, cfg.JiraAddr, cfg.ServiceNowAddr, cfg.HookAddr, ticketsim.InspectPath)
}
