// Package redact masks secrets before anything is logged, stored on a change
// record or published in an event: Slack and Teams webhook URLs (the whole URL
// is the secret), credentials and query strings of other URLs, and known
// secret values such as the API secret.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// Mask replaces a secret.
const Mask = "[REDACTED]"

// secretURLKeys hold URLs that are secrets as a whole.
var secretURLKeys = map[string]bool{"webhook_url": true}

// JSON returns body with secrets masked: values of "webhook_url" keys are
// replaced, "url" values lose their credentials and query. A body that is
// not JSON yields nil (it is never stored unredacted).
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
			case isString && secretURLKeys[k]:
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
// that does not parse is masked whole.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
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

// Strings replaces every occurrence of the given secret values in s.
func Strings(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}
