package ccloudsim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// rateHeadersOf returns Limit, Remaining, Reset and Retry-After ("" when absent).
func rateHeadersOf(w *httptest.ResponseRecorder) [4]string {
	h := w.Header()
	return [4]string{h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), h.Get("Retry-After")}
}

func TestRateLimitWindow(t *testing.T) {
	s, clock := newSim(t, Options{RateLimit: 3, RatePeriod: 10 * time.Second})
	const target = "/networking/v1/peerings/p-demo1"
	steps := []struct {
		name       string
		advance    time.Duration
		wantStatus int
		want       [4]string // limit, remaining, reset, retry-after
		violations int
	}{
		{"first request opens the window", 0, 200, [4]string{"3", "2", "10", ""}, 0},
		{"remaining decrements, reset is relative and rounded up", 2500 * time.Millisecond, 200, [4]string{"3", "1", "8", ""}, 0},
		{"last allowed request", 0, 200, [4]string{"3", "0", "8", ""}, 0},
		{"over the limit", 1 * time.Second, 429, [4]string{"3", "0", "7", "7"}, 0},                 // t=3.5s: Retry-After until t=10.5s
		{"retry too early is a violation", 1 * time.Second, 429, [4]string{"3", "0", "6", "6"}, 1}, // t=4.5s
		// t=10.2s: the window has rolled over, but the Retry-After given at t=3.5s
		// has not elapsed; the answer tells the client to wait until t=11.2s.
		{"window rolled over but Retry-After not elapsed", 5700 * time.Millisecond, 429, [4]string{"3", "0", "1", "1"}, 2},
		{"after Retry-After the window counts again", 1 * time.Second, 200, [4]string{"3", "2", "9", ""}, 2}, // window opened at t=10.2s
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		w := serve(s, http.MethodPatch, target, peeringBody)
		if w.Code != st.wantStatus {
			t.Fatalf("%s: status %d, want %d", st.name, w.Code, st.wantStatus)
		}
		if got := rateHeadersOf(w); got != st.want {
			t.Errorf("%s: headers (limit, remaining, reset, retry-after) = %q, want %q", st.name, got, st.want)
		}
		if st.wantStatus == 429 {
			if env := envelopeOf(t, w); env.Errors[0].Code != "too_many_requests" || env.Errors[0].Status != "429" {
				t.Errorf("%s: envelope %+v, want too_many_requests", st.name, env.Errors[0])
			}
		}
		if got := s.Violations(); got != st.violations {
			t.Errorf("%s: violations = %d, want %d", st.name, got, st.violations)
		}
	}
	st := s.Stats()
	if st.RateLimited != 3 || st.Violations != 2 || st.ByStatus[429] != 3 || st.ByStatus[200] != 4 || st.Total != 7 {
		t.Errorf("stats = %+v, want 3 rate limited, 2 violations, 4x200, 7 total", st)
	}
}

func TestRateLimitObeyingRetryAfterHasNoViolations(t *testing.T) {
	s, clock := newSim(t, Options{RateLimit: 5, RatePeriod: time.Second})
	for i := 0; i < 200; i++ {
		w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-demo1", peeringBody)
		if w.Code == http.StatusTooManyRequests {
			ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
			if err != nil || ra < 1 {
				t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			clock.Advance(time.Duration(ra) * time.Second)
			continue
		}
		clock.Advance(37 * time.Millisecond)
	}
	st := s.Stats()
	if st.Violations != 0 {
		t.Errorf("violations = %d, want 0 for a client that obeys Retry-After", st.Violations)
	}
	if st.RateLimited == 0 || st.ByStatus[200] == 0 {
		t.Errorf("stats = %+v, want both 200s and 429s", st)
	}
}

func TestRateLimitIsPerCredential(t *testing.T) {
	s, _ := newSim(t, Options{RateLimit: 1, RatePeriod: time.Minute, Credentials: map[string]string{"A": "a", "B": "b"}})
	const target = "/networking/v1/peerings/p-demo1"
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("A", "a")); w.Code != 200 {
		t.Fatalf("A first: %d", w.Code)
	}
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("A", "a")); w.Code != 429 {
		t.Fatalf("A second: %d, want 429", w.Code)
	}
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("B", "b")); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("B first: %d remaining %q, want 200 and 0", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("A", "wrong")); w.Code != 401 || w.Header().Get("X-RateLimit-Limit") != "" {
		t.Errorf("bad secret: %d with rate headers %q, want 401 without them", w.Code, w.Header().Get("X-RateLimit-Limit"))
	}
	if s.Violations() != 0 {
		t.Errorf("violations = %d, want 0", s.Violations())
	}
}

func TestRateLimitHeadersOnErrors(t *testing.T) {
	s, _ := newSim(t, Options{RateLimit: 10, RatePeriod: time.Second})
	w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-nope", peeringBody)
	if w.Code != 404 || w.Header().Get("X-RateLimit-Remaining") != "9" {
		t.Errorf("404: status %d remaining %q, want 404 and 9", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
}

func TestUnlimitedSendsNoRateHeaders(t *testing.T) {
	s, _ := newSim(t, Options{})
	for i := 0; i < 50; i++ {
		w := serve(s, http.MethodPatch, "/networking/v1/peerings/p-demo1", peeringBody)
		if w.Code != 200 || w.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("request %d: status %d, limit header %q; want 200 and none", i, w.Code, w.Header().Get("X-RateLimit-Limit"))
		}
	}
}

func TestSetRateLimit(t *testing.T) {
	s, _ := newSim(t, Options{})
	s.SetRateLimit(1, time.Hour)
	const target = "/networking/v1/peerings/p-demo1"
	if w := serve(s, http.MethodPatch, target, peeringBody); w.Code != 200 || w.Header().Get("X-RateLimit-Reset") != "3600" {
		t.Fatalf("first: %d reset %q", w.Code, w.Header().Get("X-RateLimit-Reset"))
	}
	if w := serve(s, http.MethodPatch, target, peeringBody); w.Code != 429 || w.Header().Get("Retry-After") != "3600" {
		t.Fatalf("second: %d retry-after %q", w.Code, w.Header().Get("Retry-After"))
	}
	s.SetRateLimit(0, 0)
	if w := serve(s, http.MethodPatch, target, peeringBody); w.Code != 200 {
		t.Fatalf("unlimited again: %d", w.Code)
	}
}

func TestCeilSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{{0, 1}, {-time.Second, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {9500 * time.Millisecond, 10}}
	for _, tt := range tests {
		if got := ceilSeconds(tt.d); got != tt.want {
			t.Errorf("ceilSeconds(%s) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
