package ccloud

import (
	"net/http"
	"strings"
	"testing"
)

// TestCheckURLGuard exercises the final URL assertion directly: a request
// whose URL is not BaseURL plus one operation path is refused.
func TestCheckURLGuard(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://api.example/base/", APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, path string
		ok        bool
	}{
		{"https://api.example/base/networking/v1/peerings/p-1", "/networking/v1/peerings/p-1", true},
		{"https://api.example/base/notifications/v1/integrations/i-1", "/notifications/v1/integrations/i-1", true},
		{"https://api.example/base/iam/v2/api-keys/k", "/iam/v2/api-keys/k", false},
		{"https://api.example/base/networking/v1/peerings/p-1?x=1", "/networking/v1/peerings/p-1", false},
		{"https://api.example/base/networking/v1/peerings/p-1#f", "/networking/v1/peerings/p-1", false},
		{"https://evil.example/base/networking/v1/peerings/p-1", "/networking/v1/peerings/p-1", false},
		{"https://api.example/base/networking/v1/peerings/a/b", "/networking/v1/peerings/a/b", false},
		{"https://api.example/base/networking/v1/peerings/", "/networking/v1/peerings/", false},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPatch, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.checkURL(req, tt.path); (err == nil) != tt.ok {
			t.Errorf("checkURL(%s) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"see https://hooks.slack.com/services/A/B/C now", "see [redacted-url] now"},
		{"HTTPS://X.Y/z", "[redacted-url]"},
		{"a\nb\x1bc\x7f", "a b c"},
		{strings.Repeat("é", 200), strings.Repeat("é", 128) + "..."},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in, maxFieldLen); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
