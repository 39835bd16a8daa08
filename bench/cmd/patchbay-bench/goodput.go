package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// partitions sizes the go-retryablehttp baseline (goroutines per worker):
// the former PATCHBAY_PARTITIONS default, kept so the comparison stays the
// one the README reports.
const partitions = 32

// Targets of issue 12: a fixed limit, and a changing one (goodput against
// what the changing limit allowed).
const (
	targetGoodput          = 0.98
	target429Share         = 0.005
	targetChangingGoodput  = 0.95
	targetChanging429Share = 0.01
)

// simSpec is the upstream of one goodput run: a fixed limit, or a schedule.
type simSpec struct {
	limit    int
	schedule benchrun.Schedule // Steps empty for a fixed limit
	changes  int
}

func (s simSpec) changing() bool { return len(s.schedule.Steps) > 0 }

// label names the limit in the report: "20/s" or "40→10@10s→40@16s /s".
func (s simSpec) label() string {
	if s.changing() {
		return s.schedule.String() + " /s"
	}
	return fmt.Sprintf("%d/s", s.limit)
}

// targets are the goodput and 429-share targets of the spec.
func (s simSpec) targets() (goodput, share float64) {
	if s.changing() {
		return targetChangingGoodput, targetChanging429Share
	}
	return targetGoodput, target429Share
}

// minLimit is the lowest limit of the spec, which bounds its duration.
func (s simSpec) minLimit() int {
	m := s.limit
	for _, st := range s.schedule.Steps {
		m = min(m, st.Limit)
	}
	return m
}

// parseCounts parses a comma-separated list of positive integers ("20,100").
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runLimit bounds one goodput run through Patchbay: 1.5 times the ideal
// duration at the limit, plus room to start and finish.
func runLimit(changes, limit int) time.Duration {
	ideal := time.Duration(float64(changes) / float64(limit) * float64(time.Second))
	return ideal*3/2 + 30*time.Second
}

// baselineLimit bounds one baseline run: as runLimit, but at least 2
// minutes, so that a baseline stuck in 429s (each change making its 5
// attempts ~1 s apart) can still finish and say how many changes gave up.
func baselineLimit(changes, limit int) time.Duration {
	return max(runLimit(changes, limit), 2*time.Minute)
}

// patchbayGoodput is a goodput run through Patchbay, with what the workers
// reported about it.
type patchbayGoodput struct {
	benchrun.Goodput
	retries  map[string]float64 // patchbay_retries_total by reason, all workers
	gateWait struct{ count, sum float64 }
	failed   []string // errors of failed changes, for the report
	spec     simSpec
}

// goodput runs the goodput scenario: for each limit, Patchbay then the
// baseline, each against a fresh simulator.
func (r *run) goodput(ctx context.Context) error {
	cfg := r.cfg
	resources := benchrun.PeeringIDs(cfg.goodputResources)
	rep := goodputReport{cfg: cfg}
	for _, limit := range cfg.goodputLimits {
		r.logf("goodput at %d requests/s: Patchbay, %d changes over %d peerings, %d workers (at most %s)",
			limit, cfg.goodputChanges, len(resources), cfg.goodputWorkers, runLimit(cfg.goodputChanges, limit))
		pb, err := r.goodputPatchbay(ctx, simSpec{limit: limit, changes: cfg.goodputChanges}, resources)
		if err != nil {
			return fmt.Errorf("goodput at %d/s through Patchbay: %w", limit, err)
		}
		rep.patchbay = append(rep.patchbay, pb)
		r.logf("  %s", pb.summary())
		if !cfg.baseline {
			continue
		}
		r.logf("goodput at %d requests/s: go-retryablehttp defaults, %d goroutines (at most %s)",
			limit, cfg.baselineConcurrency, baselineLimit(cfg.goodputChanges, limit))
		bl, err := r.goodputBaseline(ctx, limit, resources)
		if err != nil {
			return fmt.Errorf("goodput at %d/s through go-retryablehttp: %w", limit, err)
		}
		rep.baseline = append(rep.baseline, bl)
		r.logf("  %s", summary(bl))
	}
	if cfg.goodputChanging.Base > 0 {
		spec := simSpec{limit: cfg.goodputChanging.Base, schedule: cfg.goodputChanging, changes: cfg.goodputChangingChanges}
		r.logf("goodput under a changing limit %s: Patchbay, %d changes over %d peerings, %d workers (at most %s)",
			spec.label(), spec.changes, len(resources), cfg.goodputWorkers, runLimit(spec.changes, spec.minLimit()))
		pb, err := r.goodputPatchbay(ctx, spec, resources)
		if err != nil {
			return fmt.Errorf("goodput under %s through Patchbay: %w", spec.label(), err)
		}
		rep.patchbay = append(rep.patchbay, pb)
		r.logf("  %s", pb.summary())
	}
	rep.print(r.out)
	return nil
}

// serveSim starts a fresh simulator limited to limit requests per second
// (0: unlimited) with the peerings seeded, on a free 127.0.0.1 port; its
// request log keeps the last logLimit requests (0: all).
func (r *run) serveSim(limit, logLimit int, resources []string, steps ...ccloudsim.RateStep) (*ccloudsim.Server, string, *http.Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", nil, err
	}
	url := "http://" + addr
	sim, err := ccloudsim.New(ccloudsim.Options{
		Credentials: map[string]string{simKey: simSecret}, BaseURL: url,
		RateLimit: limit, RatePeriod: time.Second, LogLimit: logLimit, RateSchedule: steps,
	})
	if err != nil {
		return nil, "", nil, err
	}
	benchrun.SeedPeerings(sim, resources)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r.sims = append(r.sims, srv)
	return sim, url, srv, nil
}

// goodputPatchbay runs one limit through a fresh Patchbay: nats-server, api
// and workers, all changes submitted at once (the intake is not the
// bottleneck: ~0.5 s for 2,000), then every terminal event awaited.
func (r *run) goodputPatchbay(ctx context.Context, spec simSpec, resources []string) (patchbayGoodput, error) {
	cfg := r.cfg
	limit := spec.limit
	out := patchbayGoodput{Goodput: benchrun.Goodput{Limit: limit, Changes: spec.changes}, spec: spec}
	sim, simURL, srv, err := r.serveSim(limit, 0, resources, spec.schedule.Steps...)
	if err != nil {
		return out, err
	}
	defer srv.Close()
	name := fmt.Sprintf("goodput-L%d", limit)
	if spec.changing() {
		name = fmt.Sprintf("goodput-changing-L%d", limit)
	}
	st, err := newStack(name, r.dir, cfg, r.cancel)
	if err != nil {
		return out, err
	}
	r.stacks = append(r.stacks, st)
	if err := st.startNATS(ctx, 1); err != nil {
		return out, err
	}
	if err := st.startAPI(ctx); err != nil {
		return out, err
	}
	// Info level: a change handed back at the gate or retried after a
	// 429 is logged (in the stack's directory; keep it with -keep).
	if err := st.startWorkers(ctx, cfg.goodputWorkers, simURL, "LOG_LEVEL=info"); err != nil {
		return out, err
	}
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		return out, err
	}
	defer terms.Close()
	fast, err := benchrun.NewFastIntake(st.apiURL, benchToken, cfg.clients)
	if err != nil {
		return out, err
	}
	defer fast.Close()

	if cfg.goodputWarm {
		if err := warmGate(ctx, fast, terms, resources[0]); err != nil {
			return out, err
		}
		sim.ResetLog()
	}
	rctx, cancel := context.WithTimeout(ctx, runLimit(spec.changes, spec.minLimit()))
	defer cancel()
	ids := make([]string, spec.changes)
	out.Start = time.Now()
	sub := benchrun.ClosedLoop(rctx, cfg.clients, len(ids), func(ctx context.Context, i int) error {
		id, err := fast.PatchPeering(ctx, resources[i%len(resources)], benchrun.PeeringBody(i))
		ids[i] = id
		return err
	})
	if sub.Errors > 0 {
		return out, fmt.Errorf("submit: %d errors, first: %w", sub.Errors, sub.FirstErr)
	}
	for _, id := range ids {
		if _, err := terms.Wait(rctx, id); err != nil {
			out.TimedOut = true
			break
		}
	}
	if ctx.Err() != nil { // interrupted or the whole run's -timeout: not a result
		return out, context.Cause(ctx)
	}
	var last time.Time
	for _, id := range ids {
		term, ok := terms.Seen(id)
		switch {
		case !ok:
			out.Unfinished++
			continue
		case term.State == "succeeded":
			out.Succeeded++
		default:
			out.Failed++
		}
		if term.At.After(last) {
			last = term.At
		}
	}
	if !last.IsZero() {
		out.Elapsed = last.Sub(out.Start)
	}
	if out.TimedOut {
		out.Elapsed = time.Since(out.Start) // the run's whole time, cut off
	}
	out.Upstream = sim.Stats()
	reqs := sim.Requests()
	out.Successes = benchrun.SuccessTimes(reqs, out.Start)
	if cfg.keep {
		if err := writeRequestLog(filepath.Join(st.dir, "simulator-requests.tsv"), reqs, out.Start); err != nil {
			return out, err
		}
	}
	if n := len(out.Successes); spec.changing() && n > 1 {
		out.Allowed = sim.Allowed(out.Start.Add(out.Successes[0]), out.Start.Add(out.Successes[n-1]))
		start := out.Start
		out.AllowedBetween = func(from, to time.Duration) float64 { return sim.Allowed(start.Add(from), start.Add(to)) }
	}
	if out.Failed > 0 {
		out.failed = failedErrors(ctx, st, ids, terms, 3)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	scrapes, err := st.scrapeWorkers(sctx)
	scancel()
	if err != nil {
		return out, fmt.Errorf("scrape the workers: %w", err)
	}
	out.retries = map[string]float64{}
	for series, v := range benchrun.SumByName(scrapes, "patchbay_retries_total") {
		out.retries[labelValue(series, "reason")] += v
	}
	out.gateWait.count = sum(benchrun.SumByName(scrapes, "patchbay_ratelimit_gate_wait_seconds_count"))
	out.gateWait.sum = sum(benchrun.SumByName(scrapes, "patchbay_ratelimit_gate_wait_seconds_sum"))
	r.stacks = r.stacks[:len(r.stacks)-1]
	return out, st.stop()
}

// warmGate applies one change, so that the gate has learned the limit
// from its response before the measured changes start.
func warmGate(ctx context.Context, fast *benchrun.FastIntake, terms *benchrun.Terminals, resource string) error {
	id, err := fast.PatchPeering(ctx, resource, benchrun.PeeringBody(1_000_000))
	if err != nil {
		return fmt.Errorf("warm-up change: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if term, err := terms.Wait(wctx, id); err != nil || term.State != "succeeded" {
		return fmt.Errorf("warm-up change %s: %s %v", id, term.State, err)
	}
	return nil
}

// failedErrors returns the error of up to n failed changes (for the report).
func failedErrors(ctx context.Context, st *stack, ids []string, terms *benchrun.Terminals, n int) []string {
	in := &benchrun.Intake{BaseURL: st.apiURL, Token: benchToken, HTTP: http.DefaultClient}
	var out []string
	for _, id := range ids {
		if term, ok := terms.Seen(id); !ok || term.State != "failed" {
			continue
		}
		body, err := in.Record(ctx, id)
		if err != nil {
			body = err.Error()
		}
		out = append(out, id+": "+body)
		if len(out) == n {
			break
		}
	}
	return out
}

// goodputBaseline runs one limit through go-retryablehttp against a fresh
// simulator.
func (r *run) goodputBaseline(ctx context.Context, limit int, resources []string) (benchrun.Goodput, error) {
	sim, simURL, srv, err := r.serveSim(limit, 0, resources)
	if err != nil {
		return benchrun.Goodput{}, err
	}
	defer srv.Close()
	rctx, cancel := context.WithTimeout(ctx, baselineLimit(r.cfg.goodputChanges, limit))
	defer cancel()
	b := benchrun.Baseline{BaseURL: simURL, Key: simKey, Secret: simSecret, Concurrency: r.cfg.baselineConcurrency}
	g := b.Run(rctx, resources, r.cfg.goodputChanges)
	if ctx.Err() != nil {
		return g, context.Cause(ctx)
	}
	g.Limit = limit
	g.Upstream = sim.Stats()
	g.Successes = benchrun.SuccessTimes(sim.Requests(), g.Start)
	return g, nil
}

// writeRequestLog writes the simulator's request log (arrival and answer
// times relative to start, status, path) for a run kept with -keep.
func writeRequestLog(path string, reqs []ccloudsim.Request, start time.Time) error {
	var b strings.Builder
	b.WriteString("start_ms\tend_ms\tstatus\tpath\n")
	for _, r := range reqs {
		fmt.Fprintf(&b, "%.3f\t%.3f\t%d\t%s\n", benchrun.Ms(r.Start.Sub(start)), benchrun.Ms(r.End.Sub(start)), r.Status, r.Path)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// labelValue returns the value of label name in a series name{a="x",...}
// ("" when absent).
func labelValue(series, name string) string {
	_, labels, ok := strings.Cut(series, "{")
	if !ok {
		return ""
	}
	labels = strings.TrimSuffix(labels, "}")
	for kv := range strings.SplitSeq(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func summary(g benchrun.Goodput) string {
	return fmt.Sprintf("%d/%d succeeded, %d failed, %d unfinished; %d upstream requests, %d 429s (%.2f%%), %d violations; goodput/L first-last success %s, 10th-90th pct %s, overall %.3f (%.1f s)",
		g.Succeeded, g.Changes, g.Failed, g.Unfinished, g.Upstream.Total, g.Upstream.ByStatus[http.StatusTooManyRequests],
		100*g.Share429(), g.Upstream.Violations, ratioOrNA(g.SteadyRatio()), ratioOrNA(g.MiddleRatio()), g.OverallRatio(), g.Elapsed.Seconds())
}

// ratioOrNA renders a goodput ratio, "n/a" when the successes spanned too
// little time to give one.
func ratioOrNA(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", r)
}

// firstSeconds renders the successes in each of the first n whole seconds.
func firstSeconds(at []time.Duration, n int) string {
	c := benchrun.PerSecondCounts(at)
	if c == nil && len(at) > 0 {
		return fmt.Sprintf("all %d within %.0f ms", len(at), benchrun.Ms(at[len(at)-1]-at[0]))
	}
	if len(c) > n {
		c = c[:n]
	}
	parts := make([]string, len(c))
	for i, v := range c {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, " ")
}

func (p patchbayGoodput) summary() string {
	return summary(p.Goodput) + "; retries by reason " + formatCounts(p.retries)
}

func formatCounts(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.0f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// met reports whether a Patchbay run met every target of its spec.
func met(pb patchbayGoodput) (goodput, share, violations, all bool) {
	g := pb.Goodput
	tg, ts := pb.spec.targets()
	return g.SteadyRatio() >= tg, g.Share429() <= ts, g.Upstream.Violations == 0,
		g.Succeeded == g.Changes && g.OK() == g.Changes
}

type goodputReport struct {
	cfg      config
	patchbay []patchbayGoodput
	baseline []benchrun.Goodput
}

func (rep goodputReport) print(out io.Writer) {
	cfg := rep.cfg
	fmt.Fprintf(out, "\nGoodput under an upstream rate limit (issues 4 and 12), %s\n", cpus())
	fmt.Fprintf(out, "%d changes (Update a Peering) over %d peerings; each run against a fresh simulator in the driver process limited to L requests/s\n",
		cfg.goodputChanges, cfg.goodputResources)
	fmt.Fprintf(out, "per credential (fixed 1 s window; a request during a Retry-After is a violation, refused, and extends the wait).\n")
	gate := "a fresh gate (learns the limit from the first responses)"
	if cfg.goodputWarm {
		gate = "a warm gate (one change applied before, counters reset)"
	}
	if cfg.goodputChanging.Base > 0 {
		fmt.Fprintf(out, "Changing limit: %d changes against a simulator whose limit follows %s requests/s (times from its first request; windows carry on);\n",
			cfg.goodputChangingChanges, cfg.goodputChanging)
		fmt.Fprintf(out, "its goodput is the successes after the first divided by the requests the changing limit allowed between the first and the last success.\n")
	}
	fmt.Fprintf(out, "Patchbay: nats-server, api and %d worker processes on 127.0.0.1, defaults (RATELIMIT_* defaults), %s;\nall changes submitted at once.\n",
		cfg.goodputWorkers, gate)
	if cfg.baseline {
		fmt.Fprintf(out, "Baseline: go-retryablehttp NewClient() defaults (RetryMax 4 = 5 attempts, waits Retry-After exactly, no cap, no jitter),\n")
		fmt.Fprintf(out, "%d goroutines each PATCHing its next change straight to the simulator (HTTP Basic), same limit, fresh simulator.\n", cfg.baselineConcurrency)
	}
	fmt.Fprintf(out, "goodput = successful PATCHes per second / L, measured at the simulator: from the first to the last success (the target's measure),\n")
	fmt.Fprintf(out, "between the 10th and 90th percentile of successes (the pace once learned), and overall (first submit to last outcome, wall clock).\n\n")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "L\tclient\tgoodput/L first-last\t10th-90th\toverall\tupstream requests\t429s\tviolations\tsucceeded\tfailed / gave up\tunfinished\tsuccesses/s min/median/max\t\n")
	row := func(label, name string, g benchrun.Goodput) {
		lo, med, hi := benchrun.PerSecond(g.Successes)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.3f (%d in %.1f s)\t%d\t%d (%.2f%%)\t%d\t%d\t%d\t%d\t%d/%d/%d\t\n",
			label, name, ratioOrNA(g.SteadyRatio()), ratioOrNA(g.MiddleRatio()), g.OverallRatio(), g.OK(), g.Elapsed.Seconds(),
			g.Upstream.Total, g.Upstream.ByStatus[http.StatusTooManyRequests], 100*g.Share429(), g.Upstream.Violations,
			g.Succeeded, g.Failed, g.Unfinished, lo, med, hi)
	}
	for i, pb := range rep.patchbay {
		row(pb.spec.label(), fmt.Sprintf("Patchbay, %d workers", cfg.goodputWorkers), pb.Goodput)
		if i < len(rep.baseline) {
			row(pb.spec.label(), fmt.Sprintf("go-retryablehttp, %d goroutines", cfg.baselineConcurrency), rep.baseline[i])
		}
	}
	_ = w.Flush()
	fmt.Fprintf(out, "\nPatchbay against the targets (fixed limit: goodput >= %.2f L from the first to the last success, 429s <= %.1f%%; changing limit: >= %.2f of the allowed requests, 429s <= %.0f%%;\nzero violations, every change succeeded and applied once):\n",
		targetGoodput, 100*target429Share, targetChangingGoodput, 100*targetChanging429Share)
	for _, pb := range rep.patchbay {
		g, s, v, a := met(pb)
		mean := 0.0
		if pb.gateWait.count > 0 {
			mean = 1000 * pb.gateWait.sum / pb.gateWait.count
		}
		fmt.Fprintf(out, "  L=%s: goodput %.3f %s, 429s %.2f%% %s, violations %d %s, %d succeeded / %d upstream 200s for %d changes %s%s\n",
			pb.spec.label(), pb.SteadyRatio(), verdict(g), 100*pb.Share429(), verdict(s), pb.Upstream.Violations, verdict(v),
			pb.Succeeded, pb.OK(), pb.Changes, verdict(a), timedOut(pb.TimedOut))
		fmt.Fprintf(out, "    workers: retries by reason: %s; in-line gate waits %.0f (mean %.1f ms); successes in the first seconds: %s\n",
			formatCounts(pb.retries), pb.gateWait.count, mean, firstSeconds(pb.Successes, 6))
		for _, e := range pb.failed {
			fmt.Fprintf(out, "    failed: %s\n", e)
		}
	}
	for _, bl := range rep.baseline {
		fmt.Fprintf(out, "  baseline L=%d/s: %d of %d changes gave up, %d unfinished%s; successes in the first seconds: %s\n",
			bl.Limit, bl.Failed, bl.Changes, bl.Unfinished, timedOut(bl.TimedOut), firstSeconds(bl.Successes, 6))
		if bl.FirstErr != nil {
			fmt.Fprintf(out, "    first error: %v\n", bl.FirstErr)
		}
	}
	fmt.Fprintln(out)
}

func timedOut(b bool) string {
	if b {
		return " (run cut off by its time limit)"
	}
	return ""
}
