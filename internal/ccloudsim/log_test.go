package ccloudsim

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRequestLog(t *testing.T) {
	const longToken = "tokABCDEFGHIJKLMNOP"
	s, clock := newSim(t, Options{Tokens: []string{longToken, "tiny"}, RateLimit: 1, RatePeriod: time.Minute})
	sent := []struct {
		method, target, body string
		opt                  reqOpt
		wantCred             string
		wantStatus           int
	}{
		{"PATCH", "/networking/v1/peerings/p-demo1", peeringBody, withBasic(testKey, testSecret), testKey, 200},
		{"PATCH", "/networking/v1/peerings/p-demo2", peeringBody, withBasic(testKey, testSecret), testKey, 429},
		{"PATCH", "/notifications/v1/integrations/i-slack1", integrationBody, withAuth("Bearer " + longToken), "bearer:tokA…", 200},
		{"PATCH", "/notifications/v1/integrations/i-hook1", `{}`, withAuth("Bearer tiny"), "bearer:…", 200},
		{"PATCH", "/notifications/v1/integrations/i-hook1", `{}`, withBasic(testKey, "wrong-secret"), testKey, 401},
		{"GET", "/nope/a%2Fb", "", withAuth(""), "", 401},
	}
	for _, r := range sent {
		clock.Advance(time.Millisecond)
		if w := serve(s, r.method, r.target, r.body, r.opt); w.Code != r.wantStatus {
			t.Fatalf("%s %s: status %d, want %d", r.method, r.target, w.Code, r.wantStatus)
		}
	}
	got := s.Requests()
	if len(got) != len(sent) {
		t.Fatalf("log has %d entries, want %d", len(got), len(sent))
	}
	for i, r := range sent {
		g := got[i]
		if g.Method != r.method || g.Path != r.target || string(g.Body) != r.body || g.Credential != r.wantCred || g.Status != r.wantStatus || g.RequestID == "" {
			t.Errorf("entry %d = %+v, want %s %s cred %q status %d", i, g, r.method, r.target, r.wantCred, r.wantStatus)
		}
		for _, secret := range []string{testSecret, "wrong-secret", longToken, "tiny"} {
			if strings.Contains(g.Credential, secret) {
				t.Errorf("entry %d credential %q contains a secret", i, g.Credential)
			}
		}
		if i > 0 && !g.Start.After(got[i-1].Start) {
			t.Errorf("entry %d started at %s, not after entry %d", i, g.Start, i-1)
		}
	}

	got[0].Body[0] = 'X'
	if s.Requests()[0].Body[0] == 'X' {
		t.Error("Requests returned the log's own body slice")
	}

	s.ResetLog()
	if n, st := len(s.Requests()), s.Stats(); n != 0 || st.Total != 0 || len(st.ByStatus) != 0 {
		t.Errorf("after ResetLog: %d entries, stats %+v", n, st)
	}
}

func TestRequestLogConcurrent(t *testing.T) {
	s, _ := newSim(t, Options{})
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody)
				_ = s.Stats()
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	if n := len(s.Requests()); n != workers*each || st.Total != workers*each || st.ByStatus[200] != workers*each {
		t.Errorf("log %d, stats %+v; want %d requests, all 200", n, st, workers*each)
	}
}

func TestLogLimit(t *testing.T) {
	s, _ := newSim(t, Options{LogLimit: 3})
	for i := 0; i < 10; i++ {
		body := `{"display_name":"n` + itoa(i) + `"}`
		serve(s, "PATCH", "/notifications/v1/integrations/i-hook1", body)
		got := s.Requests()
		if want := min(i+1, 3); len(got) != want {
			t.Fatalf("after %d requests: %d entries, want %d", i+1, len(got), want)
		}
		if last := string(got[len(got)-1].Body); last != body {
			t.Fatalf("last entry body %q, want %q", last, body)
		}
	}
	if st := s.Stats(); st.Total != 10 {
		t.Errorf("Total = %d, want 10 (the cap trims the log, not the counts)", st.Total)
	}
}

func TestLoggerNeverLogsSecrets(t *testing.T) {
	var buf bytes.Buffer
	s, _ := newSim(t, Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	serve(s, "PATCH", "/notifications/v1/integrations/i-slack1", integrationBody)
	serve(s, "PATCH", "/notifications/v1/integrations/i-slack1", integrationBody, withAuth("Bearer "+testToken))
	out := buf.String()
	if strings.Count(out, `"msg":"request"`) != 2 || !strings.Contains(out, `"status":200`) {
		t.Errorf("log output %q, want two request lines with status 200", out)
	}
	for _, secret := range []string{testSecret, testToken, "hooks.slack.com"} {
		if strings.Contains(out, secret) {
			t.Errorf("log output contains %q: %s", secret, out)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero value", Options{}, true},
		{"negative rate limit", Options{RateLimit: -1}, false},
		{"negative period", Options{RatePeriod: -time.Second}, false},
		{"negative log limit", Options{LogLimit: -1}, false},
		{"empty key", Options{Credentials: map[string]string{"": "x"}}, false},
		{"empty token", Options{Tokens: []string{""}}, false},
		{"relative base URL", Options{BaseURL: "/api"}, false},
		{"bad base URL", Options{BaseURL: "http://[::1"}, false},
	}
	for _, tt := range tests {
		s, err := New(tt.opts)
		if (err == nil) != tt.ok || (err == nil) != (s != nil) {
			t.Errorf("%s: New = %v, %v; want ok=%v", tt.name, s, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: error %v does not wrap ErrInvalidOptions", tt.name, err)
		}
	}
}

func TestNewTestServerServesHTTP(t *testing.T) {
	s, ts := NewTestServer(t, Options{Credentials: map[string]string{testKey: testSecret}})
	s.SeedDemo()
	resp, err := ts.Client().Do(mustRequest(t, ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("status %d, X-Request-Id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
}
