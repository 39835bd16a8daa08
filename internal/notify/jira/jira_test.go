package jira_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/jira"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/outbound"
)

type capture struct {
	reqs []*http.Request
	body []byte
	resp *http.Response
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.reqs = append(c.reqs, r)
	c.body, _ = io.ReadAll(r.Body)
	if c.resp != nil {
		return c.resp, nil
	}
	return &http.Response{StatusCode: 201, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}"))}, nil
}

var policy = outbound.Policy{AllowedHosts: []string{"*.atlassian.net"}}

func newJira(t *testing.T, c *capture) *jira.Jira {
	t.Helper()
	table, err := route.Parse([]byte(`{"callers":[{"name":"ops","notify":{"jira":{"events":["failed"]}}}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	j, err := jira.New(jira.Config{BaseURL: "https://acme.atlassian.net", Email: "bot@acme.com", APIToken: "tok",
		PublicBaseURL: "https://patchbay.acme.com"}, table, policy, c, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func ev(state change.State, ticket string) events.Event {
	return events.Event{ID: "chg_a.g0.terminal", Data: change.Record{ID: "chg_a", State: state, RequestedBy: "ops", Ticket: ticket,
		Operation: "networking.v1.peerings.update", Resource: change.Resource{Kind: "Peering", ID: "p-1", Path: "/networking/v1/peerings/p-1"}}}
}

func TestWants(t *testing.T) {
	j := newJira(t, &capture{})
	cases := []struct {
		e    events.Event
		want bool
	}{
		{ev(change.StateFailed, "OPS-1"), true},
		{ev(change.StateSucceeded, "OPS-1"), false}, // ops chose failed only
		{ev(change.StateFailed, ""), false},
		{ev(change.StateFailed, "incident:0123456789abcdef0123456789abcdef"), false},
		{ev(change.StateFailed, "not a key"), true}, // refused visibly on delivery
	}
	for _, c := range cases {
		if got, _ := j.Wants(context.Background(), c.e); got != c.want {
			t.Errorf("Wants(%s, %q) = %v", c.e.Data.State, c.e.Data.Ticket, got)
		}
	}
	other := ev(change.StateFailed, "OPS-1")
	other.Data.RequestedBy = "someone-else"
	if got, _ := j.Wants(context.Background(), other); got {
		t.Error("a caller without a route (and no default) is wanted")
	}
}

func TestDeliverRequest(t *testing.T) {
	c := &capture{}
	j := newJira(t, c)
	if err := j.Deliver(context.Background(), ev(change.StateFailed, "OPS-12"), nil); err != nil {
		t.Fatal(err)
	}
	r := c.reqs[0]
	if r.Method != http.MethodPost || r.URL.String() != "https://acme.atlassian.net/rest/api/3/issue/OPS-12/comment" {
		t.Fatalf("%s %s", r.Method, r.URL)
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "bot@acme.com" || p != "tok" {
		t.Error("not HTTP Basic with e-mail and token")
	}
	var body struct {
		Body struct {
			Type    string `json:"type"`
			Version int    `json:"version"`
		} `json:"body"`
		Properties []struct {
			Key   string            `json:"key"`
			Value map[string]string `json:"value"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || body.Body.Type != "doc" || body.Body.Version != 1 {
		t.Fatalf("not an ADF document: %s", c.body)
	}
	if len(body.Properties) != 1 || body.Properties[0].Value["event_id"] != "chg_a.g0.terminal" {
		t.Errorf("properties %+v", body.Properties)
	}
	if !strings.Contains(string(c.body), "https://patchbay.acme.com/v1/changes/chg_a") {
		t.Error("no link to the change record")
	}
}

func TestInvalidTicketSendsNothing(t *testing.T) {
	c := &capture{}
	j := newJira(t, c)
	err := j.Deliver(context.Background(), ev(change.StateFailed, "OPS-1/../../../rest/api/3/user"), nil)
	if _, retry := notify.IsRetryable(err); err == nil || retry || notify.ErrorCode(err) != "invalid_ticket" || len(c.reqs) != 0 {
		t.Fatalf("err %v, %d requests", err, len(c.reqs))
	}
}

func TestNewRefuses(t *testing.T) {
	table, _ := route.Parse(nil, "")
	for name, cfg := range map[string]jira.Config{
		"host off the list": {BaseURL: "https://jira.evil.example", Email: "a", APIToken: "t"},
		"http":              {BaseURL: "http://acme.atlassian.net", Email: "a", APIToken: "t"},
		"path":              {BaseURL: "https://acme.atlassian.net/wiki", Email: "a", APIToken: "t"},
		"no token":          {BaseURL: "https://acme.atlassian.net", Email: "a"},
	} {
		if _, err := jira.New(cfg, table, policy, &capture{}, time.Now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
