package ccloudsim

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// itoa is strconv.Itoa, short for tables.
func itoa(n int) string { return strconv.Itoa(n) }

func TestFaultShares(t *testing.T) {
	const n = 2000
	f := Faults{Rate500: 0.10, Rate502: 0.05, Rate503: 0.15, Seed: 42}
	s, _ := newSim(t, Options{})
	s.SetFaults(f)
	var first []int
	for i := 0; i < n; i++ {
		w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody)
		first = append(first, w.Code)
		if w.Code == 500 {
			if e := envelopeOf(t, w).Errors[0]; e.Code != "internal_server_error" || e.Title != "Oops, something went wrong!" {
				t.Fatalf("500 envelope %+v", e)
			}
		}
	}
	st := s.Stats()
	for status, share := range map[int]float64{500: f.Rate500, 502: f.Rate502, 503: f.Rate503, 200: 1 - f.Rate500 - f.Rate502 - f.Rate503} {
		want := share * n
		tolerance := 4 * math.Sqrt(n*share*(1-share)) // four standard deviations
		if got := float64(st.ByStatus[status]); math.Abs(got-want) > tolerance {
			t.Errorf("%d: %v of %d, want %v ± %.0f", status, got, n, want, tolerance)
		}
	}

	// The same seed replays the same sequence.
	s.SetFaults(f)
	for i := 0; i < 200; i++ {
		if w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody); w.Code != first[i] {
			t.Fatalf("replay %d: status %d, first run %d", i, w.Code, first[i])
		}
	}
}

func TestFaultsSkipUnauthenticatedAndRateLimited(t *testing.T) {
	s, _ := newSim(t, Options{RateLimit: 2, RatePeriod: time.Minute})
	s.SetFaults(Faults{Rate500: 1})
	codes := []int{
		serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody, withAuth("")).Code,
		serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody).Code,
		serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody).Code,
		serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody).Code,
	}
	want := []int{401, 500, 500, 429} // faulted requests still count against the window
	for i := range want {
		if codes[i] != want[i] {
			t.Errorf("request %d: status %d, want %d", i, codes[i], want[i])
		}
	}
}

func TestSlowFault(t *testing.T) {
	t.Run("delays the response", func(t *testing.T) {
		s, _ := newSim(t, Options{Now: time.Now})
		s.SetFaults(Faults{SlowRate: 1, SlowDelay: 30 * time.Millisecond})
		start := time.Now()
		w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody)
		if w.Code != 200 || time.Since(start) < 30*time.Millisecond {
			t.Errorf("status %d after %s, want 200 after at least 30ms", w.Code, time.Since(start))
		}
	})
	t.Run("returns when the client goes away", func(t *testing.T) {
		s, _ := newSim(t, Options{})
		s.SetFaults(Faults{SlowRate: 1, SlowDelay: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		r := httptest.NewRequestWithContext(ctx, "PATCH", "/networking/v1/peerings/p-demo1", strings.NewReader(peeringBody))
		r.SetBasicAuth(testKey, testSecret)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeHTTP(w, r)
		}()
		waitFor(t, func() bool { return len(s.Requests()) == 1 })
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("handler still sleeping after the request was cancelled")
		}
		if got := s.Requests()[0]; got.Status != 0 || got.End.IsZero() {
			t.Errorf("log entry %+v, want status 0 and an end time", got)
		}
		if p, _ := s.Peering("p-demo1"); p.DisplayName == "renamed" {
			t.Error("abandoned request was applied")
		}
	})
}

func TestDropConnection(t *testing.T) {
	s, ts := NewTestServer(t, Options{Credentials: map[string]string{testKey: testSecret}})
	s.SeedDemo()
	s.SetFaults(Faults{DropRate: 1})
	resp, err := ts.Client().Do(mustRequest(t, ts.URL))
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t.Fatalf("got a response with status %d, want a connection error", resp.StatusCode)
	}
	st := s.Stats()
	if st.Dropped != 1 || st.Total < 1 || len(st.ByStatus) != 0 {
		t.Errorf("stats %+v, want 1 dropped and no statuses", st)
	}
	if p, _ := s.Peering("p-demo1"); p.DisplayName == "renamed" {
		t.Error("dropped request was applied")
	}

	s.SetFaults(Faults{})
	resp, err = ts.Client().Do(mustRequest(t, ts.URL))
	if err != nil {
		t.Fatalf("after clearing faults: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after clearing faults: status %d", resp.StatusCode)
	}
}

func TestSetFaultsClampsRates(t *testing.T) {
	s, _ := newSim(t, Options{})
	s.SetFaults(Faults{Rate500: -1, Rate503: 7})
	if w := serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody); w.Code != 503 {
		t.Errorf("status %d, want 503 (rate clamped to 1, negative to 0)", w.Code)
	}
}

// mustRequest builds an authenticated peering PATCH against base.
func mustRequest(t *testing.T, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, base+"/networking/v1/peerings/p-demo1", strings.NewReader(peeringBody))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testKey, testSecret)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
