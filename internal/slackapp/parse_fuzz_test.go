package slackapp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCommand: any text either parses, or is a *UsageError whose
// problem holds no JSON pointer; a parsed change either builds a JSON
// object body the validator accepted, or explains itself in words.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		`peering p-123 environment=env-abc display_name="prod east"`,
		`integration i-123 display_name="alerts" target.kind=Slack target.webhook_url=https://hooks.slack.com/services/T/B/X`,
		`status chg_aaaaaaaaaaaaaaaaaaaaaaaaaa`, `retry chg_aaaaaaaaaaaaaaaaaaaaaaaaaa`, `help`, ``,
		`peering p-1 environment=“a b” spec.display_name=‘c’`, `integration i-1 description="a \"b\" \\"`,
		`peering p-1 environment="unclosed`, `integration i-1 target=x target.kind=Slack`, `peering p-1 a..b=c`,
		`integration i-1 target.kind=Webhook target.url=https://x.test/?q=1`, "peering\tp-1\nenvironment=e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := ParseCommand(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T %v is not a *UsageError", err, err)
			}
			checkProblem(t, ue.Problem)
			return
		}
		switch cmd.Verb {
		case VerbHelp, VerbStatus, VerbRetry:
			return
		case VerbPeering, VerbIntegration:
		default:
			t.Fatalf("verb %q", cmd.Verb)
		}
		req, err := buildChange(cmd)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("build error %T %v is not a *UsageError", err, err)
			}
			checkProblem(t, ue.Problem)
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(req.Body, &obj); err != nil {
			t.Fatalf("body %q is not a JSON object: %v", req.Body, err)
		}
		if !utf8.Valid(req.Body) {
			t.Fatalf("body is not UTF-8")
		}
	})
}

func checkProblem(t *testing.T, p string) {
	t.Helper()
	if p == "" {
		t.Fatal("empty problem")
	}
	if strings.Contains(p, "'/") {
		t.Fatalf("problem shows a JSON pointer: %q", p)
	}
}
