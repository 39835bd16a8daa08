package ccloudsim

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// A schedule lowers and raises the limit without resetting the window: the
// count carries on against the limit in force.
func TestRateSchedule(t *testing.T) {
	s, clock := newSim(t, Options{RateLimit: 4, RatePeriod: time.Second,
		RateSchedule: []RateStep{{At: 2 * time.Second, Limit: 2}, {At: 4 * time.Second, Limit: 6}}})
	const target = "/networking/v1/peerings/p-demo1"
	start := clock.Now()
	steps := []struct {
		name       string
		at         time.Duration // since the first request
		wantStatus int
		want       [4]string // limit, remaining, reset, retry-after
	}{
		{"first request starts the schedule", 0, 200, [4]string{"4", "3", "1", ""}},
		{"three more fit the first limit", 0, 200, [4]string{"4", "2", "1", ""}},
		{"", 0, 200, [4]string{"4", "1", "1", ""}},
		{"", 0, 200, [4]string{"4", "0", "1", ""}},
		{"lowered: a new window holds 2", 2100 * time.Millisecond, 200, [4]string{"2", "1", "1", ""}},
		{"", 2100 * time.Millisecond, 200, [4]string{"2", "0", "1", ""}},
		{"over the lowered limit", 2200 * time.Millisecond, 429, [4]string{"2", "0", "1", "1"}},
		{"raised mid-window: the count carries on", 4 * time.Second, 200, [4]string{"6", "5", "1", ""}},
		{"", 4 * time.Second, 200, [4]string{"6", "4", "1", ""}},
	}
	for i, st := range steps {
		clock.Set(start.Add(st.at))
		w := serve(s, http.MethodPatch, target, peeringBody)
		if w.Code != st.wantStatus || rateHeadersOf(w) != st.want {
			t.Fatalf("step %d %s: status %d headers %q, want %d %q", i, st.name, w.Code, rateHeadersOf(w), st.wantStatus, st.want)
		}
	}
	if s.Violations() != 0 {
		t.Fatalf("violations %d", s.Violations())
	}
	// Allowed integrates the schedule: 2 s at 4/s, 2 s at 2/s, 1 s at 6/s.
	if got := s.Allowed(start, start.Add(5*time.Second)); got != 8+4+6 {
		t.Fatalf("Allowed = %v, want 18", got)
	}
	if got := s.Allowed(start.Add(time.Second), start.Add(3*time.Second)); got != 4+2 {
		t.Fatalf("Allowed over a change = %v, want 6", got)
	}
}

func TestRateScheduleInvalid(t *testing.T) {
	cases := map[string]Options{
		"no base limit":   {RateSchedule: []RateStep{{At: time.Second, Limit: 1}}},
		"out of order":    {RateLimit: 1, RateSchedule: []RateStep{{At: 2 * time.Second, Limit: 1}, {At: time.Second, Limit: 2}}},
		"zero limit step": {RateLimit: 1, RateSchedule: []RateStep{{At: time.Second, Limit: 0}}},
		"negative at":     {RateLimit: 1, RateSchedule: []RateStep{{At: -time.Second, Limit: 1}}},
	}
	for name, opts := range cases {
		if _, err := New(opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: err %v, want ErrInvalidOptions", name, err)
		}
	}
}

// A shared limit counts every credential against one window, and a
// Retry-After given to one credential binds the others.
func TestRateLimitShared(t *testing.T) {
	s, _ := newSim(t, Options{RateLimit: 1, RatePeriod: time.Minute, RateLimitShared: true,
		Credentials: map[string]string{"A": "a", "B": "b"}})
	const target = "/networking/v1/peerings/p-demo1"
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("A", "a")); w.Code != 200 {
		t.Fatalf("A first: %d", w.Code)
	}
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("B", "b")); w.Code != 429 {
		t.Fatalf("B after A used the shared quota: %d, want 429", w.Code)
	}
	if w := serve(s, http.MethodPatch, target, peeringBody, withBasic("A", "a")); w.Code != 429 || s.Violations() != 1 {
		t.Fatalf("A during B's Retry-After: %d with %d violations, want 429 and 1", w.Code, s.Violations())
	}
}
