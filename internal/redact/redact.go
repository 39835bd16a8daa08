// Package redact masks secrets before anything is logged, stored on a change
// record or published in an event: Slack and Teams webhook URLs (the whole URL
// is the secret), credentials and query strings of other URLs, values of
// secret-named JSON keys (tokens, passwords, secrets), bearer and basic
// credentials in free text, and known secret values such as the API secret.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// Mask replaces a secret.
const Mask = "[REDACTED]"

// secretURLKey reports whether a key holds a URL that is a secret as a whole.
func secretURLKey(k string) bool { return k == "webhook_url" }

// SecretKey reports whether a JSON key (or log attribute) names a secret:
// webhook_url, or any key containing secret, password, token,
// authorization, credential or private_key (case-insensitive).
func SecretKey(k string) bool {
	lk := strings.ToLower(k)
	if secretURLKey(lk) {
		return true
	}
	for _, p := range []string{"secret", "password", "passwd", "token", "authorization", "credential", "private_key"} {
		if strings.Contains(lk, p) {
			return true
		}
	}
	return false
}

// JSON returns body with secrets masked: values of secret keys (see
// SecretKey) are replaced whatever their type, "url" and "*_url" string
// values lose their credentials and query. A body that is not JSON yields
// nil (it is never stored unredacted).
func JSON(body []byte) json.RawMessage {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	out, err := json.Marshal(walk(v))
	if err != nil {
		return nil
	}
	return out
}

func walk(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			s, isString := val.(string)
			switch {
			case SecretKey(k):
				t[k] = Mask
			case isString && (k == "url" || strings.HasSuffix(k, "_url")):
				t[k] = URL(s)
			default:
				t[k] = walk(val)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = walk(t[i])
		}
		return t
	default:
		return v
	}
}

// URL removes user info and masks the query and fragment of a URL. A value
// that does not parse, and the URL of a service whose webhook URLs carry
// their secret in the path (Slack, Microsoft Teams/Office 365, Discord), is
// masked whole.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || secretPath(u) {
		return Mask
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	if u.RawQuery != "" {
		u.RawQuery = Mask
	}
	if u.Fragment != "" {
		u.Fragment = Mask
	}
	return u.String()
}

// secretPath reports whether u belongs to a webhook service that puts the
// secret in the path.
func secretPath(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "hooks.slack.com", host == "hooks.slack-gov.com",
		strings.HasSuffix(host, ".webhook.office.com"),
		host == "outlook.office.com", host == "outlook.office365.com":
		return true
	case host == "discord.com", host == "discordapp.com":
		return strings.HasPrefix(u.Path, "/api/webhooks")
	default:
		return false
	}
}

// Strings replaces every occurrence of the given secret values in s.
func Strings(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}
