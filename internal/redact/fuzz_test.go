package redact_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/redact"
)

const secretMarker = "SECRETVALUE"

func FuzzJSON(f *testing.F) {
	seeds := []string{
		`{"webhook_url":"https://hooks.slack.com/services/T0/B0/SECRETVALUE"}`,
		`{"target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/SECRETVALUE"}}`,
		`{"a":[{"webhook_url":"SECRETVALUE"},[{"b":{"webhook_url":"xSECRETVALUEx"}}]]}`,
		`[{"webhook_url":"SECRETVALUE"},"plain"]`,
		`{"webhook_url":"SECRET\u0056ALUE"}`,
		`{"webhook_url":"a","webhook_url":"SECRETVALUE"}`,
		`{"url":"https://u:SECRETVALUE@h/x?t=SECRETVALUE#SECRETVALUE","webhook_url":"SECRETVALUE"}`,
		`{"callback_url":"https://h/x?SECRETVALUE"}`,
		`{"n":1e400,"m":-0.0,"s":"\ud800"}`,
		`{"webhook_url":null}`,
		`{"webhook_url":{"value":"https://hooks.slack.com/SECRETVALUE"}}`,
		`{"api_secret":"SECRETVALUE","Access_Token":["SECRETVALUE"],"password":{"x":"SECRETVALUE"}}`,
		`"SECRETVALUE"`,
		`{"webhook_url":"SECRETVALUE"} trailing`,
		`not json`,
		``,
		`{`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := redact.JSON(in) // must not panic

		var parsed any
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&parsed); err != nil {
			if out != nil {
				t.Fatalf("JSON(%q) = %s for a body that does not parse", in, out)
			}
			return
		}
		if out == nil {
			t.Fatalf("JSON(%q) = nil for a body that parses", in)
		}
		if !json.Valid(out) {
			t.Fatalf("JSON(%q) = %q is not valid JSON", in, out)
		}
		got := decode(t, out)
		checkRedacted(t, parsed, got, "")

		// The literal property: when the marker appears in the input only
		// inside values of secret keys, it appears nowhere in the output.
		var inSecret, elsewhere bool
		scan(parsed, &inSecret, &elsewhere)
		if inSecret && !elsewhere && bytes.Contains(out, []byte(secretMarker)) {
			t.Fatalf("JSON(%q) = %s leaks a secret value", in, out)
		}
	})
}

// checkRedacted compares the parsed input with the parsed output: the same
// shape, values of secret keys masked whatever their type, url strings passed
// through redact.URL, everything else equal.
func checkRedacted(t *testing.T, in, out any, path string) {
	t.Helper()
	switch iv := in.(type) {
	case map[string]any:
		ov, ok := out.(map[string]any)
		if !ok || len(ov) != len(iv) {
			t.Fatalf("at %q: object %v became %v", path, iv, out)
		}
		for k, v := range iv {
			o, ok := ov[k]
			if !ok {
				t.Fatalf("at %q: key %q dropped", path, k)
			}
			s, isString := v.(string)
			switch {
			case redact.SecretKey(k):
				if o != redact.Mask {
					t.Fatalf("at %q: %s = %v, want %q", path+"/"+k, k, o, redact.Mask)
				}
			case isString && (k == "url" || strings.HasSuffix(k, "_url")):
				if o != redact.URL(s) {
					t.Fatalf("at %q: %q became %v, want %q", path+"/"+k, s, o, redact.URL(s))
				}
			default:
				checkRedacted(t, v, o, path+"/"+k)
			}
		}
	case []any:
		ov, ok := out.([]any)
		if !ok || len(ov) != len(iv) {
			t.Fatalf("at %q: array %v became %v", path, iv, out)
		}
		for i := range iv {
			checkRedacted(t, iv[i], ov[i], path+"/[]")
		}
	default:
		if in != out {
			t.Fatalf("at %q: %#v became %#v", path, in, out)
		}
	}
}

// scan reports whether the marker occurs inside the value of a secret key
// (inSecret) and anywhere else: keys, other strings, or strings whose
// percent-decoding could produce it (elsewhere).
func scan(v any, inSecret, elsewhere *bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if strings.Contains(k, secretMarker) {
				*elsewhere = true
			}
			if redact.SecretKey(k) {
				if containsMarker(val) {
					*inSecret = true
				}
				continue
			}
			scan(val, inSecret, elsewhere)
		}
	case []any:
		for _, val := range t {
			scan(val, inSecret, elsewhere)
		}
	case string:
		if strings.Contains(t, secretMarker) || strings.Contains(t, "%") {
			*elsewhere = true
		}
	}
}

// containsMarker reports whether the marker occurs anywhere in v.
func containsMarker(v any) bool {
	var in, other bool
	scan(v, &in, &other)
	return in || other
}
