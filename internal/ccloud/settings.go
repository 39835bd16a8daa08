package ccloud

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Settings is the client's configuration as the worker reads it from the
// environment (go-envconfig tags). Defaults live here and nowhere else.
type Settings struct {
	URL         string        `env:"CCLOUD_API_URL, default=https://api.confluent.cloud"`
	APIKey      string        `env:"CCLOUD_API_KEY"`
	APISecret   string        `env:"CCLOUD_API_SECRET" json:"-"`
	AccessToken string        `env:"CCLOUD_ACCESS_TOKEN" json:"-"`
	Timeout     time.Duration `env:"CCLOUD_TIMEOUT, default=30s"`
}

// ErrSettings reports an invalid Settings; the message names the variable.
var ErrSettings = errors.New("invalid upstream settings")

// Validate checks every field without connecting anywhere. Each error names
// the environment variable at fault and never includes a secret.
func (s Settings) Validate() error {
	bad := func(variable, format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", variable, ErrSettings, fmt.Sprintf(format, args...))
	}
	if _, err := normalizeBaseURL(s.URL); err != nil {
		return bad("CCLOUD_API_URL", "%s", strings.TrimPrefix(err.Error(), "client: "))
	}
	if s.Timeout <= 0 {
		return bad("CCLOUD_TIMEOUT", "must be positive, got %s", s.Timeout)
	}
	switch {
	case s.AccessToken != "":
		if !headerSafe(s.AccessToken) || strings.ContainsAny(s.AccessToken, " \t") {
			return bad("CCLOUD_ACCESS_TOKEN", "contains characters not allowed in a header")
		}
	case s.APIKey == "":
		return bad("CCLOUD_API_KEY", "set CCLOUD_API_KEY and CCLOUD_API_SECRET (or CCLOUD_ACCESS_TOKEN)")
	case strings.Contains(s.APIKey, ":") || !headerSafe(s.APIKey):
		return bad("CCLOUD_API_KEY", "must not contain ':' or control characters")
	case s.APISecret == "":
		return bad("CCLOUD_API_SECRET", "required with CCLOUD_API_KEY")
	}
	return nil
}

// Config is the client Config for these settings; version goes into the
// User-Agent.
func (s Settings) Config(version string) Config {
	return Config{BaseURL: s.URL, APIKey: s.APIKey, APISecret: s.APISecret, AccessToken: s.AccessToken, Timeout: s.Timeout, Version: version}
}

// String renders s with its secrets redacted.
func (s Settings) String() string { return s.Config("").String() }

// GoString is String, for %#v.
func (s Settings) GoString() string { return s.String() }
