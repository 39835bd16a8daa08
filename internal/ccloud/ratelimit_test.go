package ccloud_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	date := func(d time.Duration) string { return fixedNow().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"absent", "", 0, false},
		{"blank", "   ", 0, false},
		{"seconds", "120", 120 * time.Second, true},
		{"zero", "0", 0, true},
		{"padded", " 5 ", 5 * time.Second, true},
		{"leading zeros", "007", 7 * time.Second, true},
		{"negative", "-5", 0, false},
		{"plus sign", "+5", 0, false},
		{"fraction", "1.5", 0, false},
		{"unit", "5s", 0, false},
		{"hex", "0x10", 0, false},
		{"garbage", "soon", 0, false},
		{"absurd seconds capped", "999999999", ccloud.MaxWait, true},
		{"overflowing seconds capped", "99999999999999999999999999", ccloud.MaxWait, true},
		{"exactly a day", "86400", ccloud.MaxWait, true},
		{"IMF-fixdate future", date(90 * time.Second), 90 * time.Second, true},
		{"IMF-fixdate now", date(0), 0, true},
		{"IMF-fixdate past", date(-time.Hour), 0, true},
		{"IMF-fixdate far future capped", date(30 * 24 * time.Hour), ccloud.MaxWait, true},
		{"RFC 850 date", fixedNow().Add(time.Minute).UTC().Format(time.RFC850), time.Minute, true},
		{"ANSI C date", fixedNow().Add(2 * time.Minute).UTC().Format(time.ANSIC), 2 * time.Minute, true},
		{"RFC 3339 is not an HTTP-date", fixedNow().Add(time.Minute).Format(time.RFC3339), 0, false},
		{"broken date", "Thu, 02 Jan 2025 25:61:00 GMT", 0, false},
	}
	for _, tt := range tests {
		got, ok := ccloud.ParseRetryAfter(tt.in, fixedNow())
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.name, tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		want    ccloud.RateLimit
	}{
		{"none", nil, ccloud.RateLimit{}},
		{"all valid", map[string]string{"X-RateLimit-Limit": "25", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3", "Retry-After": "4"},
			ccloud.RateLimit{Limit: 25, HasLimit: true, Remaining: 0, HasRemaining: true, Reset: 3 * time.Second, HasReset: true, RetryAfter: 4 * time.Second, HasRetryAfter: true}},
		{"reset is relative, not epoch-shaped", map[string]string{"X-RateLimit-Reset": "60"},
			ccloud.RateLimit{Reset: time.Minute, HasReset: true}},
		{"epoch-looking reset is capped", map[string]string{"X-RateLimit-Reset": "1735787045"},
			ccloud.RateLimit{Reset: ccloud.MaxWait, HasReset: true}},
		{"negative values are absent", map[string]string{"X-RateLimit-Limit": "-1", "X-RateLimit-Remaining": "-2", "X-RateLimit-Reset": "-3", "Retry-After": "-4"},
			ccloud.RateLimit{}},
		{"garbage is absent", map[string]string{"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "1e3", "X-RateLimit-Reset": "3.5", "Retry-After": "later"},
			ccloud.RateLimit{}},
		{"overflowing count is absent", map[string]string{"X-RateLimit-Limit": "99999999999999999999999"}, ccloud.RateLimit{}},
		{"whitespace tolerated", map[string]string{"X-RateLimit-Remaining": " 9 "}, ccloud.RateLimit{Remaining: 9, HasRemaining: true}},
		{"case-insensitive names", map[string]string{"x-ratelimit-limit": "5"}, ccloud.RateLimit{Limit: 5, HasLimit: true}},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.headers {
			h.Set(k, v)
		}
		if got := ccloud.ParseRateLimit(h, fixedNow()); got != tt.want {
			t.Errorf("%s: ParseRateLimit = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
