package intake_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/intake"
)

// tokenHash is what an operator writes as token_sha256.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// envOf is a lookupEnv over a map.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const hookSecret = "hook-secret-0123456789abcdef"

func TestParseCallersFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte(hookSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.secret"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"HOOK_SECRET": hookSecret, "SHORT_SECRET": "short"})
	jira := `"name":"jira","token_sha256":"` + tokenHash(jiraToken) + `"`
	tests := []struct {
		name    string
		file    string
		wantLen int
		errText string // "" means valid
	}{
		{name: "token caller", file: `{"callers":[{` + jira + `,"operations":["changes.read"]}]}`, wantLen: 1},
		{name: "upper-case hash", file: `{"callers":[{"name":"jira","token_sha256":"` + strings.ToUpper(tokenHash(jiraToken)) + `","operations":["changes.read"]}]}`, wantLen: 1},
		{name: "full scope entry", file: `{"callers":[{` + jira + `,"operations":["networking.v1.peerings.update","notifications.v1.integrations.update","changes.read","changes.retry"],
			"environments":["env-1"],"resources":["p-1","i-1"],"rate_limit":2.5,"rate_burst":5}]}`, wantLen: 1},
		{name: "signer from env", file: `{"callers":[{"name":"hook","webhook_secret_env":"HOOK_SECRET","operations":["networking.v1.peerings.update"]}]}`, wantLen: 1},
		{name: "signer from relative file", file: `{"callers":[{"name":"hook","webhook_secret_file":"hook.secret","operations":["networking.v1.peerings.update"]}]}`, wantLen: 1},
		{name: "signer from absolute file", file: `{"callers":[{"name":"hook","webhook_secret_file":"` + filepath.Join(dir, "hook.secret") + `","operations":["changes.read"]}]}`, wantLen: 1},
		{name: "two callers", file: `{"callers":[{` + jira + `,"operations":["changes.read"]},{"name":"bot","token_sha256":"` + tokenHash(botToken) + `","operations":["changes.read"]}]}`, wantLen: 2},

		{name: "not JSON", file: `callers: []`, errText: "not a callers file"},
		{name: "YAML is not accepted", file: "callers:\n  - name: jira\n", errText: "not a callers file"},
		{name: "unknown field", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"token":"` + jiraToken + `"}]}`, errText: "unknown field"},
		{name: "trailing data", file: `{"callers":[{` + jira + `,"operations":["changes.read"]}]} {}`, errText: "data after"},
		{name: "no callers", file: `{"callers":[]}`, errText: "no callers"},
		{name: "bad name", file: `{"callers":[{"name":"a b","token_sha256":"` + tokenHash(jiraToken) + `","operations":["changes.read"]}]}`, errText: "name must match"},
		{name: "empty name", file: `{"callers":[{"token_sha256":"` + tokenHash(jiraToken) + `","operations":["changes.read"]}]}`, errText: "name must match"},
		{name: "hash too short", file: `{"callers":[{"name":"jira","token_sha256":"abcd","operations":["changes.read"]}]}`, errText: "64 hex digits"},
		{name: "hash not hex", file: `{"callers":[{"name":"jira","token_sha256":"` + strings.Repeat("zz", 32) + `","operations":["changes.read"]}]}`, errText: "64 hex digits"},
		{name: "no credentials", file: `{"callers":[{"name":"jira","operations":["changes.read"]}]}`, errText: "needs token_sha256"},
		{name: "no operations", file: `{"callers":[{` + jira + `}]}`, errText: "operations is empty"},
		{name: "unknown operation", file: `{"callers":[{` + jira + `,"operations":["iam.v2.api-keys.delete"]}]}`, errText: "unknown operation"},
		{name: "empty environments", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"environments":[]}]}`, errText: "environments is empty"},
		{name: "empty environment", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"environments":[""]}]}`, errText: "1 to 255"},
		{name: "empty resources", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"resources":[]}]}`, errText: "resources is empty"},
		{name: "bad resource id", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"resources":["../x"]}]}`, errText: "does not match"},
		{name: "negative rate", file: `{"callers":[{` + jira + `,"operations":["changes.read"],"rate_limit":-1}]}`, errText: "negative"},
		{name: "secret env unset", file: `{"callers":[{"name":"hook","webhook_secret_env":"NOPE","operations":["changes.read"]}]}`, errText: "NOPE is not set"},
		{name: "secret env bad name", file: `{"callers":[{"name":"hook","webhook_secret_env":"A-B","operations":["changes.read"]}]}`, errText: "not an environment variable name"},
		{name: "secret env short", file: `{"callers":[{"name":"hook","webhook_secret_env":"SHORT_SECRET","operations":["changes.read"]}]}`, errText: "shorter than 16"},
		{name: "secret file short", file: `{"callers":[{"name":"hook","webhook_secret_file":"short.secret","operations":["changes.read"]}]}`, errText: "shorter than 16"},
		{name: "secret file missing", file: `{"callers":[{"name":"hook","webhook_secret_file":"missing.secret","operations":["changes.read"]}]}`, errText: "webhook_secret_file"},
		{name: "both secret sources", file: `{"callers":[{"name":"hook","webhook_secret_env":"HOOK_SECRET","webhook_secret_file":"hook.secret","operations":["changes.read"]}]}`, errText: "not both"},
		{name: "duplicate name", file: `{"callers":[{` + jira + `,"operations":["changes.read"]},{"name":"jira","token_sha256":"` + tokenHash(botToken) + `","operations":["changes.read"]}]}`, errText: "appears twice"},
		{name: "duplicate token", file: `{"callers":[{` + jira + `,"operations":["changes.read"]},{"name":"bot","token_sha256":"` + tokenHash(jiraToken) + `","operations":["changes.read"]}]}`, errText: "same token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs, err := intake.ParseCallersFile([]byte(tt.file), dir, env)
			if tt.errText == "" {
				if err != nil {
					t.Fatalf("ParseCallersFile: %v", err)
				}
				if cs.Len() != tt.wantLen {
					t.Fatalf("Len = %d, want %d", cs.Len(), tt.wantLen)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseCallersFile = %d callers, want an error mentioning %q", cs.Len(), tt.errText)
			}
			if !errors.Is(err, intake.ErrCallers) || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("err = %v, want ErrCallers mentioning %q", err, tt.errText)
			}
			for _, secret := range []string{hookSecret, jiraToken, "short"} {
				if strings.Contains(err.Error(), secret) && !strings.Contains(tt.errText, secret) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
}

func TestLoadCallersFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "callers.json")
	if err := os.WriteFile(path, []byte(`{"callers":[{"name":"jira","token_sha256":"`+tokenHash(jiraToken)+`","operations":["changes.read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, err := intake.LoadCallersFile(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := cs.Lookup(jiraToken); !ok || name != "jira" {
		t.Fatalf("Lookup = %q, %v", name, ok)
	}
	if _, err := intake.LoadCallersFile(filepath.Join(dir, "missing.json"), envOf(nil)); !errors.Is(err, intake.ErrCallers) {
		t.Fatalf("missing file: err = %v, want ErrCallers", err)
	}
}

func TestMergeCallers(t *testing.T) {
	t.Parallel()
	tokens, err := intake.ParseCallers("jira=" + jiraToken)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		errText string
	}{
		{name: "distinct", file: `{"callers":[{"name":"bot","token_sha256":"` + tokenHash(botToken) + `","operations":["changes.read"]}]}`},
		{name: "same name", file: `{"callers":[{"name":"jira","token_sha256":"` + tokenHash(botToken) + `","operations":["changes.read"]}]}`, errText: "appears twice"},
		{name: "same token", file: `{"callers":[{"name":"bot","token_sha256":"` + tokenHash(jiraToken) + `","operations":["changes.read"]}]}`, errText: "same token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file, err := intake.ParseCallersFile([]byte(tt.file), "", envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			merged, err := tokens.Merge(file)
			if tt.errText == "" {
				if err != nil || merged.Len() != 2 {
					t.Fatalf("Merge = %v, %v", merged, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("Merge err = %v, want %q", err, tt.errText)
			}
		})
	}
}
