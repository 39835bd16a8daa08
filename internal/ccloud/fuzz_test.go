package ccloud

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fuzzNow is the fixed clock of the fuzz targets.
func fuzzNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "120", " 7 ", "-1", "1.5", "99999999999999999999",
		"Thu, 02 Jan 2025 03:05:35 GMT", "Wed, 01 Jan 2025 00:00:00 GMT", "Thursday, 02-Jan-25 03:05:35 GMT",
		"Thu Jan  2 03:05:35 2025", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, fuzzNow())
		if d < 0 || d > MaxWait {
			t.Fatalf("ParseRetryAfter(%q) = %v out of [0, MaxWait]", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok=false", v, d)
		}
	})
}

func FuzzParseRateLimit(f *testing.F) {
	f.Add("100", "7", "12", "5")
	f.Add("", "", "", "")
	f.Add("-1", "x", "1.5", "Thu, 02 Jan 2025 03:05:35 GMT")
	f.Add("99999999999999999999", "0", "99999999999", "-3")
	f.Fuzz(func(t *testing.T, limit, remaining, reset, retryAfter string) {
		h := http.Header{}
		h[HeaderRateLimitLimit] = []string{limit}
		h[HeaderRateLimitRemaining] = []string{remaining}
		h[HeaderRateLimitReset] = []string{reset}
		h[HeaderRetryAfter] = []string{retryAfter}
		rl := ParseRateLimit(h, fuzzNow())
		if rl.Limit < 0 || rl.Remaining < 0 || rl.Reset < 0 || rl.RetryAfter < 0 {
			t.Fatalf("negative value: %+v", rl)
		}
		if rl.Reset > MaxWait || rl.RetryAfter > MaxWait {
			t.Fatalf("uncapped wait: %+v", rl)
		}
		if (!rl.HasLimit && rl.Limit != 0) || (!rl.HasRemaining && rl.Remaining != 0) ||
			(!rl.HasReset && rl.Reset != 0) || (!rl.HasRetryAfter && rl.RetryAfter != 0) {
			t.Fatalf("value without its flag: %+v", rl)
		}
		if w := rateLimitWait(rl); w < 0 || w > MaxWait {
			t.Fatalf("wait %v out of range", w)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add(200, []byte(`{"id":"p-1"}`), "", "rid")
	f.Add(204, []byte(nil), "", "")
	f.Add(200, []byte(`[]`), "", "")
	f.Add(422, []byte(`{"errors":[{"status":"422","code":"x","source":{"pointer":"/spec"}}]}`), "", "rid")
	f.Add(429, []byte(`{"errors":[]}`), "5", "")
	f.Add(429, []byte(`garbage`), "Thu, 02 Jan 2025 03:05:35 GMT", "")
	f.Add(500, []byte(`{"errors":[{"status":500,"detail":"https://hooks.slack.com/services/a/b/c"}]}`), "", "")
	f.Add(501, []byte(`{"errors":null}`), "", "")
	f.Add(302, []byte(``), "", "")
	f.Add(503, []byte(`{"errors":[{"source":{"pointer":5}}]}`), "1", "\x1b[31m")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter, requestID string) {
		if status < 100 || status > 999 {
			status = 100 + (status%900+900)%900
		}
		h := http.Header{}
		h[HeaderRetryAfter] = []string{retryAfter}
		h[HeaderRequestID] = []string{requestID}
		resp, err := decodeResponse(status, h, body, fuzzNow())
		if resp == nil || resp.Status != status || string(resp.Body) != string(body) {
			t.Fatalf("response %+v does not describe the input", resp)
		}
		var rl *RateLimitedError
		var re *RetryableError
		var pe *PermanentError
		switch {
		case status == http.StatusTooManyRequests:
			if !errors.As(err, &rl) || rl.Wait < 0 || rl.Wait > MaxWait || rl.Response != resp {
				t.Fatalf("429 -> %T %v", err, err)
			}
		case status >= 500 && status <= 599 && status != 501:
			if !errors.As(err, &re) || re.Status != status || re.Err == nil {
				t.Fatalf("%d -> %T %v", status, err, err)
			}
		case status >= 200 && status <= 299:
			if err != nil && (!errors.As(err, &pe) || !errors.Is(err, ErrNonJSONBody)) {
				t.Fatalf("%d -> %T %v", status, err, err)
			}
			if len(resp.Errors) != 0 {
				t.Fatalf("2xx parsed an error envelope")
			}
		default:
			if !errors.As(err, &pe) || pe.Status != status || pe.Err == nil {
				t.Fatalf("%d -> %T %v", status, err, err)
			}
		}
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "://hooks.slack.com") || strings.ContainsAny(msg, "\n\r\x1b") {
				t.Fatalf("unsafe error string %q", msg)
			}
			if len(body) > 64 && !strings.Contains(string(body), `"errors"`) && strings.Contains(msg, string(body)) {
				t.Fatalf("error string carries the body")
			}
		}
	})
}
