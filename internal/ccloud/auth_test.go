package ccloud_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/ccloud"
)

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"+testSecret))
	tests := []struct {
		name       string
		mutate     func(*ccloud.Config)
		wantAuth   string
		wantUA     string
		wantCredID string
	}{
		{"basic", nil, basic, "patchbay/1.2.3", testKey},
		{"bearer wins over basic", func(c *ccloud.Config) { c.AccessToken = testToken }, "Bearer " + testToken, "patchbay/1.2.3", "token:"},
		{"bearer only", func(c *ccloud.Config) { c.APIKey, c.APISecret, c.AccessToken = "", "", testToken }, "Bearer " + testToken, "patchbay/1.2.3", "token:"},
		{"default version", func(c *ccloud.Config) { c.Version = "" }, basic, "patchbay/dev", testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) })
			mutate := func(*ccloud.Config) {}
			if tt.mutate != nil {
				mutate = tt.mutate
			}
			c := newClient(t, rec.srv.URL, mutate)
			if _, err := c.Do(t.Context(), ccloud.UpdateIntegration, "i-1", []byte(integrationBody)); err != nil {
				t.Fatal(err)
			}
			got := rec.requests()[0]
			checks := map[string]string{
				"Authorization": tt.wantAuth,
				"User-Agent":    tt.wantUA,
				"Content-Type":  "application/json",
				"Accept":        "application/json",
			}
			for h, want := range checks {
				if v := got.Header.Get(h); v != want {
					t.Errorf("%s = %q, want %q", h, v, want)
				}
			}
			if string(got.Body) != integrationBody {
				t.Errorf("body = %q, want it forwarded unchanged", got.Body)
			}
			id := c.CredentialID()
			if !strings.HasPrefix(id, tt.wantCredID) || strings.Contains(id, testToken) || strings.Contains(id, testSecret) {
				t.Errorf("CredentialID = %q", id)
			}
			if strings.HasPrefix(tt.wantCredID, "token:") && len(id) != len("token:")+8 {
				t.Errorf("CredentialID = %q, want token:<8 hex>", id)
			}
		})
	}
}

func TestCredentialIDIsStablePerToken(t *testing.T) {
	t.Parallel()
	mk := func(tok string) string {
		return newClient(t, "https://api.confluent.cloud", func(c *ccloud.Config) { c.AccessToken = tok }).CredentialID()
	}
	if a, b := mk("tok-a"), mk("tok-a"); a != b {
		t.Errorf("same token, different ids %q %q", a, b)
	}
	if a, b := mk("tok-a"), mk("tok-b"); a == b {
		t.Errorf("different tokens, same id %q", a)
	}
	// sha256("tok-a") starts with these 4 bytes.
	if got := mk("tok-a"); got != "token:"+sha8("tok-a") {
		t.Errorf("CredentialID = %q", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ok := ccloud.Config{BaseURL: "https://api.confluent.cloud", APIKey: testKey, APISecret: testSecret}
	tests := []struct {
		name   string
		mutate func(*ccloud.Config)
		want   string
	}{
		{"relative URL", func(c *ccloud.Config) { c.BaseURL = "/api" }, "BaseURL"},
		{"ftp URL", func(c *ccloud.Config) { c.BaseURL = "ftp://api.confluent.cloud" }, "BaseURL"},
		{"empty URL", func(c *ccloud.Config) { c.BaseURL = "" }, "BaseURL"},
		{"no host", func(c *ccloud.Config) { c.BaseURL = "https://" }, "BaseURL"},
		{"user info", func(c *ccloud.Config) { c.BaseURL = "https://u:" + testSecret + "@api.confluent.cloud" }, "BaseURL"},
		{"query", func(c *ccloud.Config) { c.BaseURL = "https://api.confluent.cloud?x=1" }, "BaseURL"},
		{"fragment", func(c *ccloud.Config) { c.BaseURL = "https://api.confluent.cloud#x" }, "BaseURL"},
		{"no credentials", func(c *ccloud.Config) { c.APIKey, c.APISecret = "", "" }, "APIKey"},
		{"no secret", func(c *ccloud.Config) { c.APISecret = "" }, "APIKey"},
		{"colon in key", func(c *ccloud.Config) { c.APIKey = "a:b" }, "APIKey"},
		{"newline in token", func(c *ccloud.Config) { c.AccessToken = testToken + "\r\nX-Evil: 1" }, "AccessToken"},
		{"negative timeout", func(c *ccloud.Config) { c.Timeout = -1 }, "Timeout"},
		{"negative body limit", func(c *ccloud.Config) { c.MaxBodyBytes = -1 }, "MaxBodyBytes"},
		{"version with slash", func(c *ccloud.Config) { c.Version = "1/2" }, "Version"},
		{"version with newline", func(c *ccloud.Config) { c.Version = "1\n" }, "Version"},
	}
	for _, tt := range tests {
		cfg := ok
		tt.mutate(&cfg)
		c, err := ccloud.New(cfg)
		if err == nil || c != nil {
			t.Errorf("%s: New = %v, %v; want an error", tt.name, c, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not name %s", tt.name, err, tt.want)
		}
		assertNoSecrets(t, err.Error())
	}
	if _, err := ccloud.New(ok); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func TestPrintingRedactsSecrets(t *testing.T) {
	t.Parallel()
	cfg := ccloud.Config{BaseURL: "https://api.confluent.cloud", APIKey: testKey, APISecret: testSecret, AccessToken: testToken}
	basic := base64.StdEncoding.EncodeToString([]byte(testKey + ":" + testSecret))
	basicClient := newClient(t, cfg.BaseURL)
	tokenClient := newClient(t, cfg.BaseURL, func(c *ccloud.Config) { c.AccessToken = testToken })
	resp := &ccloud.Response{Status: 200, Body: []byte(`{"webhook_url":"https://hooks.slack.com/services/T/B/X"}`)}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		s := fmt.Sprintf(format, cfg)
		if !strings.Contains(s, testKey) || !strings.Contains(s, "REDACTED") {
			t.Errorf("%s: %s", format, s)
		}
		for _, v := range []any{cfg, &cfg, basicClient, tokenClient, resp, *resp} {
			s := fmt.Sprintf(format, v)
			assertNoSecrets(t, s)
			if strings.Contains(s, basic) {
				t.Errorf("%s of %T leaks the Basic credential: %s", format, v, s)
			}
		}
	}
}

// TestSecretsNeverInErrors drives every error class with both credential
// kinds and checks that no error string carries a secret or a body.
func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	const slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
	bodies := map[int]string{
		200: `{"target":{"kind":"Slack","webhook_url":"` + slack + `"}`, // truncated: malformed 2xx
		400: `not json ` + slack,
		422: `{"errors":[{"code":"bad","detail":"` + slack + ` is bad","source":{"pointer":"/target/webhook_url"}}]}`,
		429: `{"errors":[{"detail":"` + slack + `"}]}`,
		500: `<html>` + slack + `</html>`,
		501: `{"errors":[{"title":"` + slack + `"}]}`,
	}
	for _, token := range []string{"", testToken} {
		for status, body := range bodies {
			rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
			})
			c := newClient(t, rec.srv.URL, func(c *ccloud.Config) { c.AccessToken = token })
			_, err := c.Do(t.Context(), ccloud.UpdateIntegration, "i-1", []byte(integrationBody))
			if err == nil {
				t.Fatalf("status %d: no error", status)
			}
			assertNoSecrets(t, err.Error())
			assertNoSecrets(t, fmt.Sprintf("%+v", err))
			if strings.Contains(err.Error(), "XXXXSECRET") {
				t.Errorf("status %d: body leaked: %v", status, err)
			}
			var pe *ccloud.PermanentError
			if errors.As(err, &pe) && pe.Err != nil {
				assertNoSecrets(t, pe.Err.Error())
			}
		}
	}
}
