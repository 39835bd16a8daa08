package intake_test

import (
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/intake"
)

func TestCallersFileSlack(t *testing.T) {
	t.Parallel()
	const hook = "https://hooks.slack.com/services/T0/B0/SECRETHOOK"
	env := envOf(map[string]string{"OPS_HOOK": hook, "BAD_HOOK": "not a url", "EMPTY_HOOK": ""})
	ops := `"name":"ops","operations":["changes.read"]`
	for _, tc := range []struct {
		name, file, errText string
	}{
		{name: "Slack users only", file: `{"callers":[{` + ops + `,"slack_users":["T0123ABCD/U0456EFGH"]}]}`},
		{name: "in channel with a fallback", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_response_type":"in_channel","slack_fallback_webhook_env":"OPS_HOOK"}]}`},
		{name: "ephemeral", file: `{"callers":[{` + ops + `,"slack_users":["E1/W1"],"slack_response_type":"ephemeral"}]}`},
		{name: "empty list", file: `{"callers":[{` + ops + `,"slack_users":[]}]}`, errText: "slack_users is empty"},
		{name: "no team", file: `{"callers":[{` + ops + `,"slack_users":["U0456EFGH"]}]}`, errText: "is not TEAM_ID/USER_ID"},
		{name: "lower case", file: `{"callers":[{` + ops + `,"slack_users":["t1/u1"]}]}`, errText: "is not TEAM_ID/USER_ID"},
		{name: "markup", file: `{"callers":[{` + ops + `,"slack_users":["T1/<!channel>"]}]}`, errText: "is not TEAM_ID/USER_ID"},
		{name: "twice in a caller", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1","T1/U1"]}]}`, errText: "appears twice"},
		{name: "in two callers", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"]},{"name":"b","operations":["changes.read"],"slack_users":["T1/U1"]}]}`, errText: "belongs to callers"},
		{name: "bad response type", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_response_type":"channel"}]}`, errText: "slack_response_type"},
		{name: "fallback not set", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_fallback_webhook_env":"NOPE"}]}`, errText: "NOPE is not set"},
		{name: "fallback empty", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_fallback_webhook_env":"EMPTY_HOOK"}]}`, errText: "EMPTY_HOOK is not set"},
		{name: "fallback not a URL", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_fallback_webhook_env":"BAD_HOOK"}]}`, errText: "not an absolute http(s) URL"},
		{name: "fallback bad name", file: `{"callers":[{` + ops + `,"slack_users":["T1/U1"],"slack_fallback_webhook_env":"a-b"}]}`, errText: "not an environment variable name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := intake.ParseCallersFile([]byte(tc.file), t.TempDir(), env)
			switch {
			case tc.errText == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)):
				t.Fatalf("error %v, want one containing %q", err, tc.errText)
			case err != nil && strings.Contains(err.Error(), hook):
				t.Fatal("the error repeats the webhook URL")
			case err == nil && !cs.HasSlackUsers():
				t.Fatal("HasSlackUsers is false")
			}
		})
	}
}

func TestBySlackUser(t *testing.T) {
	t.Parallel()
	cs, err := intake.ParseCallersFile([]byte(`{"callers":[
		{"name":"ops","operations":["changes.read","changes.retry"],"slack_users":["T1/U1","T1/U2"],"slack_response_type":"in_channel"},
		{"name":"jira","token_sha256":"`+tokenHash(jiraToken)+`","operations":["changes.read"]}]}`), "", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ team, user, want string }{
		{"T1", "U1", "ops"}, {"T1", "U2", "ops"}, {"T2", "U1", ""}, {"T1", "U3", ""}, {"", "", ""},
		{"T1/U1", "", ""}, {"T1", "U1/x", ""},
	} {
		c := cs.BySlackUser(tc.team, tc.user)
		got := ""
		if c != nil {
			got = c.Name
		}
		if got != tc.want {
			t.Errorf("BySlackUser(%q, %q) = %q, want %q", tc.team, tc.user, got, tc.want)
		}
	}
	ops := cs.ByName("ops")
	if ops == nil || !ops.Slack.InChannel || !ops.Scope.Allows(intake.PermRetryChanges) || ops.Scope.Allows(intake.PermUpdatePeering) {
		t.Errorf("ops: %+v", ops)
	}
	if cs.ByName("nobody") != nil {
		t.Error("ByName found a caller that does not exist")
	}
	if (*intake.Callers)(nil).BySlackUser("T1", "U1") != nil || (*intake.Callers)(nil).HasSlackUsers() {
		t.Error("nil callers found a Slack user")
	}
}
