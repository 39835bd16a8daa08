package redact_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/redact"
)

// decode parses JSON the way the tests compare it (numbers kept exact).
func decode(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func TestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" means nil output
	}{
		{
			name: "top-level webhook_url",
			in:   `{"webhook_url":"https://hooks.slack.com/services/T0/B0/SECRETVALUE","kind":"Slack"}`,
			want: `{"webhook_url":"[REDACTED]","kind":"Slack"}`,
		},
		{
			name: "nested webhook_url",
			in:   `{"id":"i-1","target":{"kind":"MsTeams","webhook_url":"https://x.webhook.office.com/SECRETVALUE"}}`,
			want: `{"id":"i-1","target":{"kind":"MsTeams","webhook_url":"[REDACTED]"}}`,
		},
		{
			name: "webhook_url in objects inside arrays",
			in:   `{"data":[{"target":{"webhook_url":"https://a/SECRET1"}},{"webhook_url":"https://b/SECRET2"},"https://c/plain",[{"webhook_url":"x"}]]}`,
			want: `{"data":[{"target":{"webhook_url":"[REDACTED]"}},{"webhook_url":"[REDACTED]"},"https://c/plain",[{"webhook_url":"[REDACTED]"}]]}`,
		},
		{
			name: "top-level array",
			in:   `[{"webhook_url":"https://a/SECRET"},{"url":"https://u:p@h/x?token=t"}]`,
			want: `[{"webhook_url":"[REDACTED]"},{"url":"https://%5BREDACTED%5D@h/x?[REDACTED]"}]`,
		},
		{
			name: "empty webhook_url is masked too",
			in:   `{"webhook_url":""}`,
			want: `{"webhook_url":"[REDACTED]"}`,
		},
		{
			name: "url loses user info, query and fragment",
			in:   `{"kind":"Webhook","url":"https://alice:hunter2@example.com/hook?token=abc#frag"}`,
			want: `{"kind":"Webhook","url":"https://%5BREDACTED%5D@example.com/hook?[REDACTED]#%5BREDACTED%5D"}`,
		},
		{
			name: "any _url key is treated as a url",
			in:   `{"callback_url":"https://example.com/cb?sig=xyz","self_url":"https://example.com/ok"}`,
			want: `{"callback_url":"https://example.com/cb?[REDACTED]","self_url":"https://example.com/ok"}`,
		},
		{
			name: "unparseable url masked whole",
			in:   `{"url":"not a url with secret"}`,
			want: `{"url":"[REDACTED]"}`,
		},
		{
			name: "other fields untouched, numbers exact",
			in:   `{"display_name":"https://user:pw@not-a-url-key/x?y","n":12345678901234567890123,"f":1.50,"b":true,"z":null,"s":[1,"two"]}`,
			want: `{"display_name":"https://user:pw@not-a-url-key/x?y","n":12345678901234567890123,"f":1.50,"b":true,"z":null,"s":[1,"two"]}`,
		},
		{
			name: "url key with non-string value is walked",
			in:   `{"url":{"webhook_url":"https://a/SECRET"}}`,
			want: `{"url":{"webhook_url":"[REDACTED]"}}`,
		},
		{name: "scalar string", in: `"https://a/plain"`, want: `"https://a/plain"`},
		{name: "not JSON", in: `webhook_url=https://a/SECRET`},
		{name: "truncated JSON", in: `{"webhook_url":"https://a/SECRET"`},
		{name: "empty", in: ``},
		{name: "whitespace", in: " \n\t "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redact.JSON([]byte(tt.in))
			if tt.want == "" {
				if got != nil {
					t.Fatalf("JSON(%q) = %s, want nil", tt.in, got)
				}
				return
			}
			if got == nil {
				t.Fatalf("JSON(%q) = nil", tt.in)
			}
			if !reflect.DeepEqual(decode(t, got), decode(t, []byte(tt.want))) {
				t.Fatalf("JSON(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if strings.Contains(string(got), "SECRET") {
				t.Fatalf("output leaks a secret: %s", got)
			}
		})
	}
}

func TestJSONDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := []byte(`{"webhook_url":"https://a/SECRETVALUE"}`)
	orig := append([]byte(nil), in...)
	_ = redact.JSON(in)
	if !bytes.Equal(in, orig) {
		t.Fatalf("JSON modified its input: %s", in)
	}
}

// TestJSONMasksSecretKeysWhateverTheirType covers secret keys whose value
// is not a string (an object or array holding the URL or token): the whole
// value is masked.
func TestJSONMasksSecretKeysWhateverTheirType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "webhook_url object", in: `{"webhook_url":{"value":"https://hooks.slack.com/SECRETVALUE"}}`, want: `{"webhook_url":"[REDACTED]"}`},
		{name: "webhook_url array", in: `{"webhook_url":["https://hooks.slack.com/SECRETVALUE"]}`, want: `{"webhook_url":"[REDACTED]"}`},
		{name: "webhook_url number", in: `{"webhook_url":42}`, want: `{"webhook_url":"[REDACTED]"}`},
		{name: "api secret", in: `{"api_secret":"SECRETVALUE","api_key":"KEY1"}`, want: `{"api_secret":"[REDACTED]","api_key":"KEY1"}`},
		{name: "token and password, any case", in: `{"Access_Token":"SECRETVALUE","auth":{"PASSWORD":"SECRETVALUE"}}`, want: `{"Access_Token":"[REDACTED]","auth":{"PASSWORD":"[REDACTED]"}}`},
		{name: "credentials object", in: `{"credentials":{"key":"k","secret":"SECRETVALUE"}}`, want: `{"credentials":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redact.JSON([]byte(tt.in))
			if !reflect.DeepEqual(decode(t, got), decode(t, []byte(tt.want))) {
				t.Fatalf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain url unchanged", in: "https://example.com/a/b", want: "https://example.com/a/b"},
		{name: "port and path kept", in: "http://example.com:8080/x/y", want: "http://example.com:8080/x/y"},
		{name: "user and password", in: "https://alice:hunter2@example.com/x", want: "https://%5BREDACTED%5D@example.com/x"},
		{name: "user only", in: "https://token@example.com/x", want: "https://%5BREDACTED%5D@example.com/x"},
		{name: "query", in: "https://example.com/x?token=abc&b=2", want: "https://example.com/x?[REDACTED]"},
		{name: "fragment", in: "https://example.com/x#access_token=abc", want: "https://example.com/x#%5BREDACTED%5D"},
		{name: "everything", in: "https://u:p@example.com/x?q=1#f", want: "https://%5BREDACTED%5D@example.com/x?[REDACTED]#%5BREDACTED%5D"},
		{name: "empty query marker kept", in: "https://example.com/x?", want: "https://example.com/x?"},
		{name: "upper-case scheme normalised", in: "HTTPS://Example.com/P?k=v", want: "https://Example.com/P?[REDACTED]"},
		{name: "no scheme", in: "example.com/x?token=abc", want: redact.Mask},
		{name: "relative path", in: "/hooks/abc?token=x", want: redact.Mask},
		{name: "protocol-relative", in: "//example.com/x?token=abc", want: redact.Mask},
		{name: "empty", in: "", want: redact.Mask},
		{name: "free text", in: "secret value", want: redact.Mask},
		{name: "bad escape", in: "https://example.com/%zz?token=abc", want: redact.Mask},
		{name: "bad host", in: "http://[::1?token=abc", want: redact.Mask},
		{name: "control character", in: "https://example.com/\x00?token=abc", want: redact.Mask},
		{name: "slack webhook masked whole", in: "https://hooks.slack.com/services/T0/B0/SECRET", want: redact.Mask},
		{name: "slack host case-insensitive", in: "https://HOOKS.SLACK.COM/services/T0/B0/SECRET", want: redact.Mask},
		{name: "teams webhook masked whole", in: "https://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/SECRET/b", want: redact.Mask},
		{name: "legacy office 365 webhook", in: "https://outlook.office.com/webhook/SECRET/IncomingWebhook/x", want: redact.Mask},
		{name: "discord webhook", in: "https://discord.com/api/webhooks/1/SECRET", want: redact.Mask},
		{name: "discord elsewhere kept", in: "https://discord.com/channels/1", want: "https://discord.com/channels/1"},
		{name: "slack lookalike kept", in: "https://hooks.slack.com.example.org/x", want: "https://hooks.slack.com.example.org/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := redact.URL(tt.in); got != tt.want {
				t.Fatalf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		s       string
		secrets []string
		want    string
	}{
		{name: "no secrets", s: "api secret is s3cr3t-value", want: "api secret is s3cr3t-value"},
		{name: "one secret, every occurrence", s: "a s3cr3t b s3cr3t", secrets: []string{"s3cr3t"}, want: "a [REDACTED] b [REDACTED]"},
		{name: "several secrets", s: "key=KEY123 secret=SEC456", secrets: []string{"KEY123", "SEC456"}, want: "key=[REDACTED] secret=[REDACTED]"},
		{name: "short secrets ignored", s: "abc ab a", secrets: []string{"abc", "ab", "a", ""}, want: "abc ab a"},
		{name: "exactly four characters", s: "xabcdx", secrets: []string{"abcd"}, want: "x[REDACTED]x"},
		{name: "absent secret", s: "nothing here", secrets: []string{"s3cr3t"}, want: "nothing here"},
		{name: "empty string", s: "", secrets: []string{"s3cr3t"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := redact.Strings(tt.s, tt.secrets...); got != tt.want {
				t.Fatalf("Strings(%q, %q) = %q, want %q", tt.s, tt.secrets, got, tt.want)
			}
		})
	}
}
