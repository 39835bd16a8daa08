package benchrun

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
)

func secs(fs ...float64) []time.Duration {
	out := make([]time.Duration, len(fs))
	for i, f := range fs {
		out[i] = time.Duration(f * float64(time.Second))
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSteadyAndMiddleRate(t *testing.T) {
	// 21 events 100 ms apart: 20 intervals over 2 s.
	var even []time.Duration
	for i := range 21 {
		even = append(even, time.Duration(i)*100*time.Millisecond)
	}
	if r := SteadyRate(even); !near(r, 10) {
		t.Fatalf("SteadyRate even = %v, want 10", r)
	}
	// Slow start and tail: the middle rate ignores them.
	slow := append(secs(0, 1, 2), even...)
	for i := range slow[3:] {
		slow[3+i] += 3 * time.Second
	}
	slow = append(slow, secs(7, 8, 9)...)
	if r := MiddleRate(slow); r <= SteadyRate(slow) {
		t.Fatalf("MiddleRate %v not above SteadyRate %v for a slow start", r, SteadyRate(slow))
	}
	// One burst: no rate.
	for _, at := range [][]time.Duration{nil, secs(1), secs(0, 0.01, 0.02, 1.5)} {
		if SteadyRate(at) != 0 || MiddleRate(at) != 0 {
			t.Fatalf("rate of %v = %v/%v, want 0 (span below MinSpan)", at, SteadyRate(at), MiddleRate(at))
		}
	}
}

func TestPerSecond(t *testing.T) {
	at := secs(0, 0.1, 0.2, 1.5, 2.1, 2.2, 2.3, 2.4, 3.05)
	got := PerSecondCounts(at)
	if len(got) != 3 || got[0] != 3 || got[1] != 1 || got[2] != 4 {
		t.Fatalf("PerSecondCounts = %v, want [3 1 4] (last partial second left out)", got)
	}
	if lo, med, hi := PerSecond(at); lo != 1 || med != 3 || hi != 4 {
		t.Fatalf("PerSecond = %d/%d/%d", lo, med, hi)
	}
	if lo, med, hi := PerSecond(secs(0, 0.5, 1.2)); lo != 0 || med != 0 || hi != 0 {
		t.Fatal("PerSecond over one second")
	}
	if PerSecondCounts(secs(0.5)) != nil {
		t.Fatal("one event")
	}
}

func TestGoodputRatios(t *testing.T) {
	g := Goodput{
		Limit: 10, Changes: 3, Elapsed: 4 * time.Second, Successes: secs(0, 1, 2, 3),
		Upstream: ccloudsim.Stats{Total: 200, ByStatus: map[int]int{200: 198, 429: 2}},
	}
	if !near(g.SteadyRatio(), 0.1) || !near(g.OverallRatio(), 0.1) || !near(g.Share429(), 0.01) || g.OK() != 4 {
		t.Fatalf("steady %v overall %v share %v", g.SteadyRatio(), g.OverallRatio(), g.Share429())
	}
	if (Goodput{}).Share429() != 0 || (Goodput{}).OverallRate() != 0 || (Goodput{}).SteadyRatio() != 0 {
		t.Fatal("empty goodput")
	}
}

func TestSuccessTimes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	reqs := []ccloudsim.Request{
		{Method: "PATCH", Status: 200, Start: t0.Add(2 * time.Second)},
		{Method: "PATCH", Status: 429, Start: t0.Add(time.Second)},
		{Method: "GET", Status: 200, Start: t0},
		{Method: "PATCH", Status: 0, Start: t0}, // in flight or dropped
		{Method: "PATCH", Status: 200, Start: t0.Add(time.Second)},
	}
	got := SuccessTimes(reqs, t0)
	if len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Fatalf("SuccessTimes = %v", got)
	}
}

// The baseline client against the real simulator: with a limit far above
// the load every change succeeds at once; with a tiny limit and a short
// deadline, the defaults' 429 handling shows (retries, violations by
// other goroutines, unfinished changes when the time runs out).
func TestBaselineAgainstSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out Retry-After")
	}
	run := func(limit int, d time.Duration) (Goodput, ccloudsim.Stats) {
		sim, err := ccloudsim.New(ccloudsim.Options{Credentials: map[string]string{"k": "s"}, RateLimit: limit})
		if err != nil {
			t.Fatal(err)
		}
		ids := PeeringIDs(4)
		SeedPeerings(sim, ids)
		srv := httptest.NewServer(sim)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		g := Baseline{BaseURL: srv.URL + "/", Key: "k", Secret: "s", Concurrency: 4}.Run(ctx, ids, 8)
		return g, sim.Stats()
	}
	g, st := run(1000, 10*time.Second)
	if g.Succeeded != 8 || g.Failed != 0 || g.Unfinished != 0 || g.TimedOut || st.ByStatus[200] != 8 {
		t.Fatalf("unlimited: %+v, sim %+v", g, st)
	}
	g, st = run(1, 1500*time.Millisecond)
	if g.Succeeded < 1 || g.Succeeded+g.Failed+g.Unfinished != 8 || !g.TimedOut || st.RateLimited == 0 {
		t.Fatalf("limited: %+v, sim %+v", g, st)
	}
	if g.Elapsed < time.Second {
		t.Fatalf("cut-off run elapsed %v, want the whole run", g.Elapsed)
	}
}

// A change that keeps getting 429s gives up after go-retryablehttp's 5
// attempts, waiting Retry-After (1 s here) between them.
func TestBaselineGivesUpAfterFiveAttempts(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out four Retry-Afters")
	}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "k" || p != "s" || r.Method != http.MethodPatch {
			t.Errorf("request %s %v %q %q", r.Method, ok, u, p)
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	g := Baseline{BaseURL: srv.URL, Key: "k", Secret: "s", Concurrency: 1}.Run(context.Background(), []string{"p-1"}, 1)
	if g.Failed != 1 || g.Succeeded != 0 || n.Load() != 5 || g.FirstErr == nil || !strings.Contains(g.FirstErr.Error(), "giving up after 5 attempt(s)") {
		t.Fatalf("%+v after %d requests", g, n.Load())
	}
	if g.Elapsed < 4*time.Second {
		t.Fatalf("gave up after %v, want >= 4 Retry-Afters of 1 s", g.Elapsed)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP patchbay_retries_total Changes handed back.
# TYPE patchbay_retries_total counter
patchbay_retries_total{reason="rate_limit_gate"} 3
patchbay_retries_total{reason="rate_limited"} 0

patchbay_ratelimit_gate_wait_seconds_sum 1.5
patchbay_ratelimit_gate_wait_seconds_count 12 1700000000000
odd_metric{path="/a b}",q="x\"y"} 2.5e+00
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		`patchbay_retries_total{reason="rate_limit_gate"}`: 3,
		`patchbay_retries_total{reason="rate_limited"}`:    0,
		`patchbay_ratelimit_gate_wait_seconds_sum`:         1.5,
		`patchbay_ratelimit_gate_wait_seconds_count`:       12,
		`odd_metric{path="/a b}",q="x\"y"}`:                2.5,
	}
	if len(m) != len(want) {
		t.Fatalf("parsed %v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, m[k], v, m)
		}
	}
	for _, bad := range []string{"{x=\"1\"} 2", "name{x=\"1\" 2", "name", "name abc", "name 1 2 3"} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
	sum := SumByName([]map[string]float64{m, {`patchbay_retries_total{reason="rate_limited"}`: 2, "patchbay_retries_total_other": 9}}, "patchbay_retries_total")
	if len(sum) != 2 || sum[`patchbay_retries_total{reason="rate_limited"}`] != 2 || sum[`patchbay_retries_total{reason="rate_limit_gate"}`] != 3 {
		t.Fatalf("SumByName = %v", sum)
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("up 1\n"))
	}))
	defer srv.Close()
	m, err := Scrape(context.Background(), srv.Client(), srv.URL+"/metrics")
	if err != nil || m["up"] != 1 {
		t.Fatalf("Scrape: %v %v", m, err)
	}
	if _, err := Scrape(context.Background(), srv.Client(), srv.URL+"/nope"); err == nil {
		t.Fatal("404 scraped")
	}
}

type countingSubmitter struct{ n atomic.Int64 }

func (c *countingSubmitter) PatchPeering(context.Context, string, []byte) (string, error) {
	c.n.Add(1)
	return "chg", nil
}

func TestAlternateIntake(t *testing.T) {
	a, b := &countingSubmitter{}, &countingSubmitter{}
	res := []string{"p-1", "p-2"}
	alt, err := AlternateIntake(context.Background(), []Target{{Submit: a, Resources: res}, {Submit: b, Resources: res}}, 4, 3, 50, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a.n.Load() != 160 || b.n.Load() != 160 {
		t.Fatalf("submitted %d and %d, want 3*50+10 each", a.n.Load(), b.n.Load())
	}
	if len(alt.Rates[0]) != 3 || len(alt.Rates[1]) != 3 || alt.Total[0].Done != 150 || alt.Total[1].Done != 150 {
		t.Fatalf("alternation %+v", alt)
	}
	total, perRound := alt.Ratio(1, 0)
	if total <= 0 || len(perRound) != 3 {
		t.Fatalf("ratio %v %v", total, perRound)
	}
	fixed := Alternation{Total: []Result{{Done: 100, Elapsed: time.Second}, {Done: 50, Elapsed: time.Second}}, Rates: [][]float64{{100, 200}, {50, 50}}}
	if total, perRound := fixed.Ratio(1, 0); !near(total, 0.5) || !near(perRound[0], 0.5) || !near(perRound[1], 0.25) {
		t.Fatalf("fixed ratio %v %v", total, perRound)
	}
}

func TestParseSchedule(t *testing.T) {
	s, err := ParseSchedule("40,10@10s,40@16s")
	if err != nil || s.Base != 40 || len(s.Steps) != 2 || s.Steps[0] != (ccloudsim.RateStep{At: 10 * time.Second, Limit: 10}) ||
		s.Steps[1] != (ccloudsim.RateStep{At: 16 * time.Second, Limit: 40}) || s.String() != "40→10@10s→40@16s" {
		t.Fatalf("ParseSchedule = %+v %v", s, err)
	}
	for _, bad := range []string{"", "0", "40,10", "40,10@x", "40,10@10s,40@5s", "40,0@1s"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}

func TestSteadyRatioUnderAChangingLimit(t *testing.T) {
	g := Goodput{Limit: 40, Successes: secs(0, 1, 2, 3, 4), Allowed: 8}
	if r := g.SteadyRatio(); !near(r, 0.5) {
		t.Fatalf("SteadyRatio = %v, want 4/8", r)
	}
}

func TestOtherRatiosUnderAChangingLimit(t *testing.T) {
	var at []time.Duration
	for i := range 41 {
		at = append(at, time.Duration(i)*100*time.Millisecond) // 10/s for 4 s
	}
	g := Goodput{Limit: 40, Successes: at, Elapsed: 4 * time.Second, Allowed: 40,
		AllowedBetween: func(from, to time.Duration) float64 { return 10 * (to - from).Seconds() }}
	if r := g.MiddleRatio(); math.Abs(r-1) > 0.01 {
		t.Fatalf("MiddleRatio = %v, want 1 (10/s where 10/s was allowed)", r)
	}
	if r := g.OverallRatio(); math.Abs(r-41.0/40) > 0.01 {
		t.Fatalf("OverallRatio = %v", r)
	}
}
