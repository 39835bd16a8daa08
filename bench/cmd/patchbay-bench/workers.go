package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/netstall"
)

// Targets of issue 11.
const (
	targetHealthyP99 = 2 * time.Second
	targetWorkerRate = 200.0
)

// workerStack starts a fresh single-node deployment with an api and n
// workers against simURL; env is added to every worker's environment.
func (r *run) workerStack(ctx context.Context, name string, n int, simURL string, env ...string) (*stack, error) {
	st, err := newStack(name, r.dir, r.cfg, r.cancel)
	if err != nil {
		return nil, err
	}
	r.stacks = append(r.stacks, st)
	if err := st.startNATS(ctx, 1); err != nil {
		return nil, err
	}
	if err := st.startAPI(ctx); err != nil {
		return nil, err
	}
	if n > 0 {
		if err := st.startWorkers(ctx, n, simURL, append([]string{"LOG_LEVEL=warn"}, env...)...); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// submitAll queues one change per entry of resources (in parallel, 16 at a
// time) and returns the change ids in the same order.
func submitAll(ctx context.Context, in *benchrun.Intake, resources []string, first int) ([]string, error) {
	ids := make([]string, len(resources))
	errs := make([]error, len(resources))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ids[i], errs[i] = in.PatchPeering(ctx, resources[i], benchrun.PeeringBody(first+i))
			}
		}()
	}
	for i := range resources {
		next <- i
	}
	close(next)
	wg.Wait()
	return ids, errors.Join(errs...)
}

// workerReport collects the worker scenario's figures.
type workerReport struct {
	lines []string
	ok    bool
}

func (w *workerReport) add(ok bool, format string, args ...any) {
	verdict := "PASS"
	if !ok {
		verdict, w.ok = "FAIL", false
	}
	w.lines = append(w.lines, fmt.Sprintf("%-4s ", verdict)+fmt.Sprintf(format, args...))
}

// workers runs the scenario of issue 11 with real processes: head-of-line
// blocking next to failing resources, throughput with a slow upstream, and
// a worker frozen (SIGSTOP) and a worker's NATS link stalled past the lease.
func (r *run) workers(ctx context.Context) error {
	rep := &workerReport{ok: true}
	steps := []struct {
		name string
		fn   func(context.Context, *workerReport) error
	}{
		{"failing resources next to healthy ones", r.benchHeadOfLine},
		{"throughput with a slow upstream", r.benchSlowThroughput},
		{"worker frozen past its lease", func(ctx context.Context, w *workerReport) error { return r.benchDisruption(ctx, w, "freeze") }},
		{"NATS link stalled past the lease", func(ctx context.Context, w *workerReport) error { return r.benchDisruption(ctx, w, "stall") }},
	}
	for _, s := range steps {
		if r.cfg.workerOnly != "" && !strings.Contains(s.name, r.cfg.workerOnly) {
			continue
		}
		r.logf("worker scenario: %s", s.name)
		if err := s.fn(ctx, rep); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		for i := len(r.stacks) - 1; i >= 0; i-- {
			_ = r.stacks[i].stop()
		}
		r.stacks = nil
	}
	fmt.Fprintf(r.out, "\nWorker: order, fencing and throughput (issue 11); %s, machine shared with other work\n", cpus())
	for _, l := range rep.lines {
		fmt.Fprintln(r.out, l)
	}
	if !rep.ok {
		return errors.New("worker scenario: a target was missed")
	}
	return nil
}

// benchHeadOfLine: four peerings answer 503 to every call (6 attempts,
// backoff 1-8 s), then 300 changes to 100 healthy peerings; 2 workers.
func (r *run) benchHeadOfLine(ctx context.Context, rep *workerReport) error {
	resources := benchrun.PeeringIDs(104)
	sim, simURL, srv, err := r.serveSim(0, 0, resources)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, id := range resources[:4] {
		sim.SetFixedResponse("/networking/v1/peerings/"+id, http.StatusServiceUnavailable)
	}
	st, err := r.workerStack(ctx, "hol", 2, simURL, "RETRY_MAX_ATTEMPTS=6", "RETRY_BACKOFF_BASE=1s", "RETRY_BACKOFF_MAX=8s")
	if err != nil {
		return err
	}
	watch, err := watchRecords(ctx, st.js)
	if err != nil {
		return err
	}
	defer watch.stop()
	in := &benchrun.Intake{BaseURL: st.apiURL, Token: benchToken, HTTP: benchrun.NewHTTPClient(16)}
	var failingTargets []string
	for range 5 {
		failingTargets = append(failingTargets, resources[:4]...)
	}
	failing, err := submitAll(ctx, in, failingTargets, 0)
	if err != nil {
		return err
	}
	var healthyTargets []string
	for range 3 {
		healthyTargets = append(healthyTargets, resources[4:]...)
	}
	healthy, err := submitAll(ctx, in, healthyTargets, 1000)
	if err != nil {
		return err
	}
	recs, err := watch.waitTerminal(ctx, healthy, 2*time.Minute)
	if err != nil {
		return err
	}
	lat := latencies(recs, healthy)
	rep.add(pct(lat, 0.99) < targetHealthyP99, "healthy accept->terminal with 4 resources failing every call (20 failing changes, 6 attempts, backoff 1-8 s; 300 healthy changes on 100 peerings; 2 workers): p50 %.0f ms p99 %.0f ms max %.0f ms (target p99 < %s)",
		benchrun.Ms(pct(lat, 0.5)), benchrun.Ms(pct(lat, 0.99)), benchrun.Ms(lat[len(lat)-1]), targetHealthyP99)
	frecs, err := watch.waitTerminal(ctx, failing, 5*time.Minute)
	if err != nil {
		return err
	}
	bad := 0
	for _, id := range failing {
		if frecs[id].State != change.StateFailed || len(frecs[id].Attempts) != 6 {
			bad++
		}
	}
	rep.add(bad == 0 && len(sim.Overlaps()) == 0, "failing changes: %d of %d failed after 6 attempts; overlapping PATCHes per resource: %d", len(failing)-bad, len(failing), len(sim.Overlaps()))
	return nil
}

// benchSlowThroughput: 600 peerings, simulator latency 300 ms, no limit,
// 3 workers, 3,000 changes (5 per peering).
func (r *run) benchSlowThroughput(ctx context.Context, rep *workerReport) error {
	resources := benchrun.PeeringIDs(600)
	sim, simURL, srv, err := r.serveSim(0, 0, resources)
	if err != nil {
		return err
	}
	defer srv.Close()
	sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond})
	st, err := r.workerStack(ctx, "slow", 3, simURL)
	if err != nil {
		return err
	}
	watch, err := watchRecords(ctx, st.js)
	if err != nil {
		return err
	}
	defer watch.stop()
	in := &benchrun.Intake{BaseURL: st.apiURL, Token: benchToken, HTTP: benchrun.NewHTTPClient(16)}
	var targets []string
	for range 5 {
		targets = append(targets, resources...)
	}
	start := time.Now()
	ids, err := submitAll(ctx, in, targets, 0)
	if err != nil {
		return err
	}
	accepted := time.Since(start)
	recs, err := watch.waitTerminal(ctx, ids, 5*time.Minute)
	if err != nil {
		return err
	}
	var first, last time.Time
	ok := 0
	for _, rec := range recs {
		if rec.State == change.StateSucceeded {
			ok++
		}
		if first.IsZero() || rec.AcceptedAt.Before(first) {
			first = rec.AcceptedAt
		}
		if rec.CompletedAt != nil && rec.CompletedAt.After(last) {
			last = *rec.CompletedAt
		}
	}
	rate := float64(len(ids)) / last.Sub(first).Seconds()
	rep.add(rate >= targetWorkerRate && ok == len(ids) && len(sim.Overlaps()) == 0,
		"600 peerings, upstream latency 300 ms, no limit, 3 workers x WORKER_CONCURRENCY 64: %d changes (accepted in %s) in %s = %.0f changes/s, %d succeeded, %d overlapping PATCHes (target >= %.0f/s)",
		len(ids), accepted.Round(time.Millisecond), last.Sub(first).Round(time.Millisecond), rate, ok, len(sim.Overlaps()), targetWorkerRate)
	return nil
}

// benchDisruption: 600 changes on 30 peerings (20 each, accepted in rounds
// so each peering's order is known), upstream latency 300 ms, 3 workers,
// PATCHBAY_ACK_WAIT=6s, CCLOUD_TIMEOUT=3s; mid-run worker-1 is frozen with
// SIGSTOP (kind "freeze") or its NATS link stalled by a TCP proxy (kind
// "stall") for 12 s.
func (r *run) benchDisruption(ctx context.Context, rep *workerReport, kind string) error {
	resources := benchrun.PeeringIDs(30)
	sim, simURL, srv, err := r.serveSim(0, 0, resources)
	if err != nil {
		return err
	}
	defer srv.Close()
	sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 300 * time.Millisecond})
	lease := []string{"PATCHBAY_ACK_WAIT=6s", "CCLOUD_TIMEOUT=3s"}
	st, err := r.workerStack(ctx, kind, 0, simURL)
	if err != nil {
		return err
	}
	env := lease
	var proxy *netstall.Proxy
	if kind == "stall" {
		if proxy, err = netstall.New(strings.TrimPrefix(st.natsURL, "nats://")); err != nil {
			return err
		}
		defer proxy.Close()
		env = append(env, "NATS_URL=nats://"+proxy.Addr())
	}
	if err := st.startWorkers(ctx, 1, simURL, append([]string{"LOG_LEVEL=warn"}, env...)...); err != nil {
		return err
	}
	if err := st.startWorkers(ctx, 2, simURL, append([]string{"LOG_LEVEL=warn"}, lease...)...); err != nil {
		return err
	}
	watch, err := watchRecords(ctx, st.js)
	if err != nil {
		return err
	}
	defer watch.stop()
	in := &benchrun.Intake{BaseURL: st.apiURL, Token: benchToken, HTTP: benchrun.NewHTTPClient(16)}
	var ids []string
	want := map[string][]string{} // path -> display names in acceptance order
	for round := range 20 {
		got, err := submitAll(ctx, in, resources, round*len(resources))
		if err != nil {
			return err
		}
		ids = append(ids, got...)
		for i, id := range resources {
			want["/networking/v1/peerings/"+id] = append(want["/networking/v1/peerings/"+id], "bench-"+strconv.Itoa(round*len(resources)+i))
		}
	}
	// Mid-run: once calls are in flight.
	deadline := time.Now().Add(30 * time.Second)
	for sim.InFlight() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w1 := st.workers[0]
	what := "worker-1 frozen (SIGSTOP) 12 s"
	if kind == "stall" {
		what = "worker-1's NATS link stalled (TCP proxy, both directions) 12 s"
		proxy.Pause()
		time.Sleep(12 * time.Second)
		proxy.Resume()
	} else {
		if err := freeze(w1.pid()); err != nil {
			return err
		}
		time.Sleep(12 * time.Second)
		if err := thaw(w1.pid()); err != nil {
			return err
		}
	}
	recs, werr := watch.waitTerminal(ctx, ids, 5*time.Minute)
	// Let the disrupted worker act on whatever it still holds, if it would.
	time.Sleep(10 * time.Second)
	nonTerminal := 0
	taken := 0
	for _, id := range ids {
		rec, ok := recs[id]
		if !ok || !rec.State.Terminal() {
			nonTerminal++
		}
		if len(rec.Attempts) > 1 {
			taken++
		}
	}
	ev, err := checkEvents(ctx, st.js, ids)
	if err != nil {
		return err
	}
	outOfOrder := orderViolations(sim.Requests(), want)
	overlaps := len(sim.Overlaps())
	left := watch.leftTerminal()
	rep.add(werr == nil && nonTerminal == 0 && overlaps == 0 && left == 0 && ev.notOne == 0 && ev.afterTerminal == 0 && outOfOrder == 0,
		"%s mid-run, lease 6 s, upstream timeout 3 s, latency 300 ms, 600 changes on 30 peerings, 3 workers: overlapping PATCHes %d, non-terminal %d, records leaving a terminal state %d, events after a terminal event %d, changes without exactly one terminal event %d, peerings applied out of order %d; %d changes needed a second attempt",
		what, overlaps, nonTerminal, left, ev.afterTerminal, ev.notOne, outOfOrder, taken)
	return nil
}

// orderViolations counts peerings whose successful PATCHes did not apply
// the names of want in order (a change repeated right after itself, as a
// takeover does, is allowed).
func orderViolations(reqs []ccloudsim.Request, want map[string][]string) int {
	got := map[string][]string{}
	for _, q := range reqs {
		if q.Status != http.StatusOK {
			continue
		}
		s := string(q.Body)
		i := strings.Index(s, `"display_name":"`)
		if i < 0 {
			continue
		}
		s = s[i+len(`"display_name":"`):]
		got[q.Path] = append(got[q.Path], s[:strings.IndexByte(s, '"')])
	}
	bad := 0
	for path, names := range want {
		i := 0
		for _, n := range got[path] {
			switch {
			case i < len(names) && n == names[i]:
				i++
			case i > 0 && n == names[i-1]:
			default:
				i = -1
			}
			if i < 0 {
				break
			}
		}
		if i != len(names) {
			bad++
		}
	}
	return bad
}
