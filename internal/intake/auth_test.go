package intake_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/intake"
)

func TestParseCallers(t *testing.T) {
	t.Parallel()
	tok := strings.Repeat("t", 16)
	tests := []struct {
		name    string
		spec    string
		wantLen int // 0 means an error is expected
		errText string
	}{
		{name: "one caller", spec: "jira=" + tok, wantLen: 1},
		{name: "several callers", spec: "jira=" + tok + ",bot=" + tok + "x,script=" + tok + "y", wantLen: 3},
		{name: "spaces and empty entries tolerated", spec: " jira = " + tok + " ,, bot=" + tok + "x ,", wantLen: 2},
		{name: "token may contain '='", spec: "jira=" + tok + "==", wantLen: 1},
		{name: "empty", spec: "", errText: "no callers"},
		{name: "only separators", spec: " , ,", errText: "no callers"},
		{name: "duplicate name", spec: "jira=" + tok + ",jira=" + tok + "x", errText: "appears twice"},
		{name: "short token", spec: "jira=" + strings.Repeat("t", 15), errText: "shorter than 16"},
		{name: "short token after trimming", spec: "jira= " + strings.Repeat("t", 15) + " ", errText: "shorter than 16"},
		{name: "missing '='", spec: "jira" + tok, errText: "entry 1 is not name=token"},
		{name: "missing '=' in second entry", spec: "jira=" + tok + ",bot", errText: "entry 2 is not name=token"},
		{name: "empty name", spec: "=" + tok, errText: "not name=token"},
		{name: "empty token", spec: "jira=", errText: "not name=token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := intake.ParseCallers(tt.spec)
			if tt.wantLen == 0 {
				if err == nil {
					t.Fatalf("ParseCallers(%q) = %d callers, want an error", tt.spec, cs.Len())
				}
				if !errors.Is(err, intake.ErrCallers) {
					t.Fatalf("err = %v, want ErrCallers", err)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %q, want it to mention %q", err, tt.errText)
				}
				if strings.Contains(err.Error(), strings.Repeat("t", 15)) {
					t.Fatalf("error text leaks the token: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCallers(%q): %v", tt.spec, err)
			}
			if cs.Len() != tt.wantLen {
				t.Fatalf("Len = %d, want %d", cs.Len(), tt.wantLen)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	cs, err := intake.ParseCallers("jira=" + jiraToken + ", bot=" + botToken)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		token    string
		wantName string
		wantOK   bool
	}{
		{name: "jira", token: jiraToken, wantName: "jira", wantOK: true},
		{name: "bot (trimmed in spec)", token: botToken, wantName: "bot", wantOK: true},
		{name: "wrong token", token: "not-a-known-token-at-all", wantOK: false},
		{name: "prefix of a token", token: jiraToken[:len(jiraToken)-1], wantOK: false},
		{name: "token with extra byte", token: jiraToken + "x", wantOK: false},
		{name: "case differs", token: strings.ToUpper(jiraToken), wantOK: false},
		{name: "caller name is not a token", token: "jira", wantOK: false},
		{name: "empty", token: "", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := cs.Lookup(tt.token)
			if name != tt.wantName || ok != tt.wantOK {
				t.Fatalf("Lookup(%q) = %q, %v; want %q, %v", tt.token, name, ok, tt.wantName, tt.wantOK)
			}
		})
	}
}
