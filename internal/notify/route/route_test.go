package route_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/notify/route"
)

func TestParse(t *testing.T) {
	file := `{"callers":[
	  {"name":"jira","token_sha256":"ab","operations":["changes.read"],"notify":{"jira":{}}},
	  {"name":"plain"}]}`
	tb, err := route.Parse([]byte(file), `{"webhook":{"url":"https://h.example.com"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.For("jira")["jira"]; !ok {
		t.Error("jira's own route missing")
	}
	if _, ok := tb.For("plain")["webhook"]; !ok {
		t.Error("a caller without notify does not get the default")
	}
	if _, ok := tb.For("unknown")["webhook"]; !ok {
		t.Error("an API_TOKENS caller does not get the default")
	}
	if err := tb.CheckKnown([]string{"jira", "webhook"}); err != nil {
		t.Error(err)
	}
	if err := tb.CheckKnown([]string{"jira"}); err == nil {
		t.Error("unknown destination accepted")
	}
	for _, bad := range []string{`{"callers":[{"name":"x","notify":[]}]}`, `{"callers":[{"name":"x","notify":"jira"}]}`, `[`} {
		if _, err := route.Parse([]byte(bad), ""); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestEvents(t *testing.T) {
	var def route.Events
	if !def.Wants(change.StateSucceeded) || !def.Wants(change.StateFailed) || def.Wants(change.StateRetrying) || def.Wants(change.StateQueued) {
		t.Error("default must be the terminal states only")
	}
	all := route.Events{"retrying", "failed"}
	if !all.Wants(change.StateRetrying) || all.Wants(change.StateSucceeded) {
		t.Error("explicit choice not honoured")
	}
	if err := (route.Events{"queued"}).Validate(); err == nil {
		t.Error("queued accepted")
	}
}

func TestSecretRef(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s"), []byte("value-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return "value-from-env", k == "S" }
	if v, err := (route.SecretRef{File: "s"}).Resolve(dir, env); err != nil || v != "value-from-file" {
		t.Errorf("file: %q %v", v, err)
	}
	if v, err := (route.SecretRef{Env: "S"}).Resolve(dir, env); err != nil || v != "value-from-env" {
		t.Errorf("env: %q %v", v, err)
	}
	for _, bad := range []route.SecretRef{{}, {Env: "S", File: "s"}, {Env: "UNSET"}, {Env: "1BAD"}, {File: "missing"}} {
		if _, err := bad.Resolve(dir, env); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestPerCallerFor: a change's requested_by finds its caller's settings,
// also for a Slack user of that caller ("ops (slack T1/U1)"); others get
// the default, and a caller without the key gets nil (not the default).
func TestPerCallerFor(t *testing.T) {
	tb, err := route.Parse([]byte(`{"callers":[
		{"name":"ops","notify":{"jira":{"events":["failed"]}}},
		{"name":"quiet","notify":{"webhook":{"url":"https://h.example.com"}}}]}`), `{"jira":{}}`)
	if err != nil {
		t.Fatal(err)
	}
	type settings struct {
		Events route.Events `json:"events,omitempty"`
	}
	p, err := route.ParsePerCaller(tb, "jira", func(s settings) (*settings, error) { return &s, s.Events.Validate() })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		requestedBy string
		wantOps     bool // ops' own settings (only "failed")
		wantNil     bool
	}{
		{"ops", true, false},
		{"ops (slack T1/U1)", true, false},
		{"stranger", false, false},
		{"quiet", false, true},
	} {
		got := p.For(tc.requestedBy)
		switch {
		case tc.wantNil:
			if got != nil {
				t.Errorf("%q: %+v, want nil", tc.requestedBy, got)
			}
		case got == nil:
			t.Errorf("%q: nil", tc.requestedBy)
		case tc.wantOps != (len(got.Events) == 1):
			t.Errorf("%q: %+v", tc.requestedBy, got)
		}
	}
}
