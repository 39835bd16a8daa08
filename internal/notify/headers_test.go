package notify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/notify"
)

var clock = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"5", 5 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
		{"Thu, 03 Dec 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Thu, 03 Dec 2026 11:00:00 GMT", 0, true}, // past: no wait
		{"tomorrow", 0, false},
	}
	for _, c := range cases {
		got, ok := notify.ParseRetryAfter(c.in, clock)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseRateLimitReset(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"2026-12-03T12:01Z", time.Minute, true},
		{"2026-12-03T12:00:10Z", 10 * time.Second, true},
		{"2026-12-03T12:00:10.500Z", 10500 * time.Millisecond, true},
		{"2026-12-03T13:00:10+01:00", 10 * time.Second, true},
		{"2026-12-03T13:00+0100", 0, true},
		{"2026-12-03T11:00Z", 0, true},
		{"30", 0, false}, // relative seconds are Confluent's form, not Jira's
		{"Thu, 03 Dec 2026 12:00:30 GMT", 0, false},
	}
	for _, c := range cases {
		got, ok := notify.ParseRateLimitReset(c.in, clock)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRateLimitReset(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status  int
		header  http.Header
		retry   bool
		after   time.Duration
		nilErr  bool
		errCode string
	}{
		{status: 200, nilErr: true},
		{status: 204, nilErr: true},
		{status: 429, header: http.Header{"Retry-After": {"7"}}, retry: true, after: 7 * time.Second, errCode: "http_429"},
		{status: 429, header: http.Header{"X-Ratelimit-Reset": {"2026-12-03T12:00:03Z"}}, retry: true, after: 3 * time.Second, errCode: "http_429"},
		{status: 503, retry: true, errCode: "http_503"},
		{status: 408, retry: true, errCode: "http_408"},
		{status: 400, errCode: "http_400"},
		{status: 401, errCode: "http_401"},
		{status: 404, errCode: "http_404"},
		{status: 302, errCode: "http_302"},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: c.header}
		if resp.Header == nil {
			resp.Header = http.Header{}
		}
		err := notify.Classify(resp, clock)
		if c.nilErr {
			if err != nil {
				t.Errorf("%d: %v", c.status, err)
			}
			continue
		}
		after, retry := notify.IsRetryable(err)
		if retry != c.retry || after != c.after || notify.ErrorCode(err) != c.errCode || notify.StatusCode(err) != c.status {
			t.Errorf("%d: retry %v after %s code %s status %d", c.status, retry, after, notify.ErrorCode(err), notify.StatusCode(err))
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "5", "120", "-1", "1e9", "Thu, 03 Dec 2026 12:00:30 GMT", "Monday, 02-Jan-06 15:04:05 MST", "Mon Jan  2 15:04:05 2006", "99999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := notify.ParseRetryAfter(s, clock)
		if d < 0 || (!ok && d != 0) || d > 366*24*time.Hour {
			t.Fatalf("ParseRetryAfter(%q) = %s, %v", s, d, ok)
		}
	})
}

func FuzzParseRateLimitReset(f *testing.F) {
	for _, s := range []string{"", "2026-12-03T12:01Z", "2026-12-03T12:00:10Z", "2026-12-03T13:00:10+01:00", "2026-12-03T13:00+0100", "9999-12-31T23:59:59Z", "0000-01-01T00:00Z", "30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := notify.ParseRateLimitReset(s, clock)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRateLimitReset(%q) = %s, %v", s, d, ok)
		}
	})
}
