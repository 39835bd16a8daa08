package servicenow_test

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
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/servicenow"
	"github.com/patchbay/patchbay/internal/outbound"
)

const sysID = "0123456789abcdef0123456789abcdef"

type capture struct {
	reqs []*http.Request
	body []byte
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.reqs = append(c.reqs, r)
	c.body, _ = io.ReadAll(r.Body)
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}"))}, nil
}

var policy = outbound.Policy{AllowedHosts: []string{"acme.service-now.com"}}

func ev(ticket string) events.Event {
	return events.Event{ID: "chg_a.g0.terminal", Data: change.Record{ID: "chg_a", State: change.StateSucceeded, RequestedBy: "x", Ticket: ticket,
		Resource: change.Resource{Kind: "Peering", ID: "p-1", Path: "/networking/v1/peerings/p-1"}}}
}

func TestDeliverWithBearerAndBasic(t *testing.T) {
	table, _ := route.Parse(nil, `{"servicenow":{}}`)
	for name, cfg := range map[string]servicenow.Config{
		"bearer": {BaseURL: "https://acme.service-now.com", Token: "oauth-tok"},
		"basic":  {BaseURL: "https://acme.service-now.com", User: "u", Password: "p"},
	} {
		c := &capture{}
		s, err := servicenow.New(cfg, table, policy, c, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Wants(context.Background(), ev("change_request:"+sysID)); !ok {
			t.Fatalf("%s: default route not wanted", name)
		}
		if err := s.Deliver(context.Background(), ev("change_request:"+sysID), nil); err != nil {
			t.Fatal(err)
		}
		r := c.reqs[0]
		if r.Method != http.MethodPatch || r.URL.String() != "https://acme.service-now.com/api/now/table/change_request/"+sysID {
			t.Fatalf("%s %s", r.Method, r.URL)
		}
		switch name {
		case "bearer":
			if r.Header.Get("Authorization") != "Bearer oauth-tok" {
				t.Error("no bearer token")
			}
		case "basic":
			if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
				t.Error("no basic auth")
			}
		}
		var body map[string]string
		if json.Unmarshal(c.body, &body) != nil || !strings.Contains(body["work_notes"], "chg_a.g0.terminal") || len(body) != 1 {
			t.Errorf("body %s", c.body)
		}
	}
}

func TestInvalidTicketSendsNothing(t *testing.T) {
	table, _ := route.Parse(nil, `{"servicenow":{}}`)
	c := &capture{}
	s, err := servicenow.New(servicenow.Config{BaseURL: "https://acme.service-now.com", Token: "t"}, table, policy, c, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{"change_request:../sys_user", "Change_Request:" + sysID, "change_request:" + sysID + "?sysparm_x=1"} {
		err := s.Deliver(context.Background(), ev(tk), nil)
		if notify.ErrorCode(err) != "invalid_ticket" {
			t.Errorf("%q: %v", tk, err)
		}
	}
	if len(c.reqs) != 0 {
		t.Errorf("%d requests sent", len(c.reqs))
	}
}
