package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// The partial-failure scenarios (issue 11) run nats-server, the api and
// worker processes against an instrumented upstream (see upstream.go):
//
//   - isolation: four peerings answer 503 to every call (6 attempts,
//     backoff 1-8 s) while healthy changes arrive at a steady rate; reports
//     the healthy changes' accept -> terminal latency (target p99 < 2 s);
//   - fanout: 600 peerings, 300 ms upstream latency, no rate limit, 3
//     workers; reports changes/s (target >= 200/s);
//   - pause: changes to 40 peerings with 200 ms upstream latency while one
//     worker is frozen with SIGSTOP for 12 s (lease 6 s), then, in a fresh
//     deployment, while one worker's NATS link is stalled for 12 s by a TCP
//     proxy; checks no overlapping calls per resource, per-resource order,
//     every change terminal (one call in five answers 503, so some are
//     retried), no record leaving a terminal state, exactly one
//     terminal event per change and none after it. A violation fails the run.

// partialEnv is the worker settings the partial-failure scenarios share:
// a 6 s lease and a 2 s upstream timeout.
var partialEnv = []string{"PATCHBAY_ACK_WAIT=6s", "CCLOUD_TIMEOUT=2s", "LOG_LEVEL=info"}

// partialStack starts nats-server, the api and workers processes; worker i
// uses workerKey(i) and, when natsURLs[i-1] is set, that NATS URL (a proxy).
func (r *run) partialStack(ctx context.Context, name string, workers int, simURL string, env []string, natsURLs ...string) (*stack, error) {
	st, err := newStack(name, r.dir, r.cfg, r.cancel)
	if err != nil {
		return nil, err
	}
	r.stacks = append(r.stacks, st)
	st.extraEnv = env
	if err := st.startNATS(ctx, 1); err != nil {
		return st, err
	}
	if err := st.startAPI(ctx); err != nil {
		return st, err
	}
	for i := 1; i <= workers; i++ {
		wenv := []string{"CCLOUD_API_KEY=" + workerKey(i)}
		if i <= len(natsURLs) && natsURLs[i-1] != "" {
			wenv = append(wenv, "NATS_URL="+natsURLs[i-1])
		}
		if err := st.startWorkers(ctx, 1, simURL, wenv...); err != nil {
			return st, err
		}
	}
	return st, nil
}

// submitted is one change as the driver sent it.
type submitted struct {
	id       string
	resource string
	at       time.Time
}

// submitAll sends changes[i] = (resource, seq) with clients concurrent
// clients; every change of a resource is sent by the same client, in seq
// order, so acceptance order is seq order.
func submitAll(ctx context.Context, fast *benchrun.FastIntake, resources []string, perResource, clients int) ([]submitted, error) {
	out := make([]submitted, len(resources)*perResource)
	res := benchrun.ClosedLoop(ctx, clients, len(resources), func(ctx context.Context, i int) error {
		for seq := 0; seq < perResource; seq++ {
			at := time.Now()
			id, err := fast.PatchPeering(ctx, resources[i], seqBody(seq))
			if err != nil {
				return err
			}
			out[i*perResource+seq] = submitted{id: id, resource: resources[i], at: at}
		}
		return nil
	})
	if res.Errors > 0 {
		return nil, fmt.Errorf("submit: %d errors, first: %w", res.Errors, res.FirstErr)
	}
	return out, nil
}

func changeIDs(subs []submitted) []string {
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.id
	}
	return ids
}

// isolation: see the scenario list above.
func (r *run) isolation(ctx context.Context) error {
	const failingN, healthyN, rate = 4, 300, 50.0
	failing := make([]string, failingN)
	paths := make([]string, failingN)
	for i := range failing {
		failing[i] = fmt.Sprintf("p-fail-%d", i)
		paths[i] = "/networking/v1/peerings/" + failing[i]
	}
	healthy := benchrun.PeeringIDs(healthyN)
	sim, err := newPartialSim(3, append(slices.Clone(failing), healthy...))
	if err != nil {
		return err
	}
	up := newUpstream(sim, 0, paths)
	simURL, err := up.serve(r)
	if err != nil {
		return err
	}
	env := []string{"RETRY_MAX_ATTEMPTS=6", "RETRY_BACKOFF_BASE=1s", "RETRY_BACKOFF_MAX=8s", "LOG_LEVEL=warn"}
	st, err := r.partialStack(ctx, "isolation", 3, simURL, env)
	if err != nil {
		return err
	}
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		return err
	}
	defer terms.Close()
	fast, err := benchrun.NewFastIntake(st.apiURL, benchToken, 8)
	if err != nil {
		return err
	}
	defer fast.Close()
	// The failing resources first, five changes each, so that each has a
	// change in backoff and four more queued behind it.
	if _, err := submitAll(ctx, fast, failing, 5, failingN); err != nil {
		return err
	}
	// Then the healthy changes at a steady rate, one per resource.
	subs := make([]submitted, healthyN)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for i, res := range healthy {
		<-tick.C
		at := time.Now()
		id, err := fast.PatchPeering(ctx, res, seqBody(0))
		if err != nil {
			return fmt.Errorf("submit %s: %w", res, err)
		}
		subs[i] = submitted{id: id, resource: res, at: at}
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var lat benchrun.Latencies
	for _, s := range subs {
		term, err := terms.Wait(wctx, s.id)
		if err != nil {
			return fmt.Errorf("healthy change %s not terminal: %w", s.id, err)
		}
		lat.Add(term.At.Sub(s.at))
	}
	sum := lat.Summary()
	fmt.Fprintf(r.out, "isolation: %d healthy changes at %.0f/s next to %d peerings failing every call (6 attempts, backoff 1-8s), 3 workers\n",
		healthyN, rate, failingN)
	fmt.Fprintf(r.out, "  healthy accept -> terminal: p50 %s  p99 %s  max %s   (target p99 < 2s)\n",
		sum.P50.Round(time.Millisecond), sum.P99.Round(time.Millisecond), sum.Max.Round(time.Millisecond))
	fmt.Fprintf(r.out, "  upstream: %d calls, %d answered 503 by the failing peerings, %d overlapping calls\n", up.calls, up.failed, len(up.overlaps))
	r.stacks = r.stacks[:len(r.stacks)-1]
	return st.stop()
}

// fanout: see the scenario list above.
func (r *run) fanout(ctx context.Context) error {
	const resourcesN, perResource = 600, 2
	resources := benchrun.PeeringIDs(resourcesN)
	sim, err := newPartialSim(3, resources)
	if err != nil {
		return err
	}
	up := newUpstream(sim, 300*time.Millisecond, nil)
	simURL, err := up.serve(r)
	if err != nil {
		return err
	}
	st, err := r.partialStack(ctx, "fanout", 3, simURL, []string{"LOG_LEVEL=warn"})
	if err != nil {
		return err
	}
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		return err
	}
	defer terms.Close()
	fast, err := benchrun.NewFastIntake(st.apiURL, benchToken, 32)
	if err != nil {
		return err
	}
	defer fast.Close()
	start := time.Now()
	subs, err := submitAll(ctx, fast, resources, perResource, 32)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	at, states, err := terms.WaitAll(wctx, changeIDs(subs))
	if err != nil {
		return fmt.Errorf("fanout: %w (states so far %v)", err, states)
	}
	last := slices.MaxFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	elapsed := last.Sub(start)
	fmt.Fprintf(r.out, "fanout: %d changes over %d peerings, upstream latency 300ms, no rate limit, 3 workers\n", len(subs), resourcesN)
	fmt.Fprintf(r.out, "  %.0f changes/s (%s to the last terminal event; states %v; %d overlapping calls)   (target >= 200/s)\n",
		float64(len(subs))/elapsed.Seconds(), elapsed.Round(time.Millisecond), states, len(up.overlaps))
	r.stacks = r.stacks[:len(r.stacks)-1]
	return st.stop()
}

// pause runs the pause scenario twice: a worker frozen with SIGSTOP, and a
// worker whose NATS link is stalled.
func (r *run) pause(ctx context.Context) error {
	var errs []error
	for _, how := range []string{"sigstop", "stall"} {
		if err := r.pauseOnce(ctx, how); err != nil {
			errs = append(errs, fmt.Errorf("pause (%s): %w", how, err))
		}
	}
	return errors.Join(errs...)
}

func (r *run) pauseOnce(ctx context.Context, how string) error {
	const resourcesN, perResource, hold = 40, 10, 12 * time.Second
	resources := benchrun.PeeringIDs(resourcesN)
	sim, err := newPartialSim(3, resources)
	if err != nil {
		return err
	}
	// One call in five answers 503, so that outcomes differ: a stale
	// "retrying" written over a "succeeded" would show.
	sim.SetFaults(ccloudsim.Faults{Rate503: 0.2, Seed: 11})
	up := newUpstream(sim, 200*time.Millisecond, nil)
	simURL, err := up.serve(r)
	if err != nil {
		return err
	}
	st, err := newStack("pause-"+how, r.dir, r.cfg, r.cancel)
	if err != nil {
		return err
	}
	// The stack's NATS comes first, so the proxy knows its target; the
	// workers then start through partialStack's steps by hand.
	r.stacks = append(r.stacks, st)
	st.extraEnv = append(slices.Clone(partialEnv), "RETRY_MAX_ATTEMPTS=20", "RETRY_BACKOFF_BASE=100ms", "RETRY_BACKOFF_MAX=1s")
	if err := st.startNATS(ctx, 1); err != nil {
		return err
	}
	if err := st.startAPI(ctx); err != nil {
		return err
	}
	var proxy *linkProxy
	if how == "stall" {
		if proxy, err = newLinkProxy(strings.TrimPrefix(st.natsURL, "nats://")); err != nil {
			return err
		}
		defer proxy.Close()
	}
	for i := 1; i <= 3; i++ {
		wenv := []string{"CCLOUD_API_KEY=" + workerKey(i)}
		if i == 1 && proxy != nil {
			wenv = append(wenv, "NATS_URL="+proxy.URL())
		}
		if err := st.startWorkers(ctx, 1, simURL, wenv...); err != nil {
			return err
		}
	}
	victim := st.workers[0]
	records, err := watchRecords(ctx, st.js)
	if err != nil {
		return err
	}
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		return err
	}
	defer terms.Close()
	fast, err := benchrun.NewFastIntake(st.apiURL, benchToken, 16)
	if err != nil {
		return err
	}
	defer fast.Close()

	submitDone := make(chan error, 1)
	var subs []submitted
	go func() {
		var err error
		subs, err = submitAll(ctx, fast, resources, perResource, 16)
		submitDone <- err
	}()
	// Freeze the victim while it has a call in flight.
	deadline := time.Now().Add(30 * time.Second)
	for up.credInFlight(workerKey(1)) == 0 {
		if time.Now().After(deadline) {
			return errors.New("worker-1 never had a call in flight")
		}
		time.Sleep(5 * time.Millisecond) // polling the upstream's own counter
	}
	if how == "sigstop" {
		if err := syscall.Kill(victim.pid(), syscall.SIGSTOP); err != nil {
			return err
		}
	} else {
		proxy.Pause()
	}
	paused := time.Now()
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	if how == "sigstop" {
		_ = syscall.Kill(victim.pid(), syscall.SIGCONT)
	} else {
		proxy.Resume()
	}
	if err := <-submitDone; err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ids := changeIDs(subs)
	if _, _, err := terms.WaitAll(wctx, ids); err != nil {
		return fmt.Errorf("not every change reached a terminal state: %w", err)
	}
	// Give the victim a full lease after its return to do anything stale it
	// would do (write, publish, ack, call), then look.
	settle := time.Until(paused.Add(hold + 6*time.Second + 2*time.Second))
	if settle > 0 {
		time.Sleep(settle) // the settle window is what is being measured
	}
	var violations []string
	violations = append(violations, up.overlaps...)
	violations = append(violations, up.orderViolations()...)
	for _, id := range records.nonTerminal(ids) {
		violations = append(violations, "not terminal: "+id)
	}
	violations = append(violations, records.stop()...)
	evViolations, nEvents, err := auditEvents(ctx, st.js, ids)
	if err != nil {
		return err
	}
	violations = append(violations, evViolations...)
	fmt.Fprintf(r.out, "pause (%s): %d changes over %d peerings, upstream latency 200ms, 3 workers, lease 6s, call timeout 2s; worker-1 %s for %s mid-run\n",
		how, len(ids), resourcesN, map[string]string{"sigstop": "frozen (SIGSTOP)", "stall": "NATS link stalled"}[how], hold)
	fmt.Fprintf(r.out, "  upstream calls %d, overlapping calls %d, order violations %d, events %d, violations in all %d\n",
		up.calls, len(up.overlaps), len(up.orderViolations()), nEvents, len(violations))
	for i, v := range violations {
		if i == 10 {
			fmt.Fprintf(r.out, "    ... and %d more\n", len(violations)-10)
			break
		}
		fmt.Fprintf(r.out, "    %s\n", v)
	}
	r.stacks = r.stacks[:len(r.stacks)-1]
	stopErr := st.stop()
	if len(violations) > 0 {
		return errors.Join(fmt.Errorf("%d promise violations", len(violations)), stopErr)
	}
	return stopErr
}
