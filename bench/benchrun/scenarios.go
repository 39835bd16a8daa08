package benchrun

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Target is the system a scenario drives.
type Target struct {
	// Submit sends PATCHes to the intake under test.
	Submit Submitter
	// Intake reads change records (GET, long-poll).
	Intake *Intake
	// Raw publishes the same messages straight to JetStream (intake scenarios).
	Raw RawPublisher
	// Terminals sees terminal events (end-to-end scenarios).
	Terminals *Terminals
	// Resources are the peering ids load is spread over, round robin.
	Resources []string
	// CPU, when set, returns the CPU time used so far by each process of
	// interest; runs report the difference per process.
	CPU func() map[string]time.Duration
}

// measure runs f and attaches the CPU the target's processes used meanwhile.
func (t Target) measure(f func() Result) Result {
	if t.CPU == nil {
		return f()
	}
	before := t.snapshot()
	r := f()
	r.CPU = t.snapshot().since(before)
	return r
}

// Machine is the key of the whole machine's busy CPU time in CPU maps.
const Machine = "(machine)"

type cpuSnapshot map[string]time.Duration

func (t Target) snapshot() cpuSnapshot {
	s := cpuSnapshot(t.CPU())
	if busy, ok := MachineBusy(); ok {
		s[Machine] = busy
	}
	return s
}

func (s cpuSnapshot) since(before cpuSnapshot) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range s {
		if b, ok := before[k]; ok {
			out[k] = v - b
		}
	}
	return out
}

// OtherCores is how many cores, on average over elapsed, processes other
// than the measured ones kept busy (the noise of a shared machine); -1 when
// unknown.
func OtherCores(cpu map[string]time.Duration, elapsed time.Duration) float64 {
	machine, ok := cpu[Machine]
	if !ok || elapsed <= 0 {
		return -1
	}
	for k, v := range cpu {
		if k != Machine {
			machine -= v
		}
	}
	return max(machine.Seconds()/elapsed.Seconds(), 0)
}

func (t Target) resource(i int) string { return t.Resources[i%len(t.Resources)] }

// IntakeComparison is the intake's closed-loop rate next to a raw JetStream
// publish of the same payloads at the same concurrency, measured in
// alternating rounds against the same NATS server.
type IntakeComparison struct {
	Clients     int
	Raw, Intake Result // summed over rounds
	// RoundRatios is intake rate / raw rate per round.
	RoundRatios []float64
}

// RawRate is raw publishes per second over all rounds.
func (c IntakeComparison) RawRate() float64 { return c.Raw.Rate() }

// IntakeRate is accepted changes per second over all rounds.
func (c IntakeComparison) IntakeRate() float64 { return c.Intake.Rate() }

// Ratio is IntakeRate / RawRate.
func (c IntakeComparison) Ratio() float64 {
	if c.RawRate() == 0 {
		return 0
	}
	return c.IntakeRate() / c.RawRate()
}

func add(a, b Result) Result {
	a.Done += b.Done
	a.Errors += b.Errors
	a.Elapsed += b.Elapsed
	if a.FirstErr == nil {
		a.FirstErr = b.FirstErr
	}
	if b.CPU != nil {
		sum := map[string]time.Duration{}
		for k, v := range a.CPU {
			sum[k] = v
		}
		for k, v := range b.CPU {
			sum[k] += v
		}
		a.CPU = sum
	}
	return a
}

// CompareIntake runs warmup operations of each kind, then rounds of
// perRound raw publishes followed by perRound intake requests, all with
// clients concurrent clients. Any failed operation is an error.
func CompareIntake(ctx context.Context, t Target, clients, rounds, perRound, warmup int) (IntakeComparison, error) {
	seq := 0
	raw := func(n int) Result {
		base := seq
		seq += n
		return t.measure(func() Result {
			return ClosedLoop(ctx, clients, n, func(ctx context.Context, i int) error {
				return t.Raw.PublishPeering(ctx, t.resource(base+i), PeeringBody(base+i))
			})
		})
	}
	intake := func(n int) Result {
		base := seq
		seq += n
		return t.measure(func() Result {
			return ClosedLoop(ctx, clients, n, func(ctx context.Context, i int) error {
				_, err := t.Submit.PatchPeering(ctx, t.resource(base+i), PeeringBody(base+i))
				return err
			})
		})
	}
	out := IntakeComparison{Clients: clients}
	if warmup > 0 {
		if r := raw(warmup); r.Errors > 0 {
			return out, fmt.Errorf("raw publish warmup: %d errors, first: %w", r.Errors, r.FirstErr)
		}
		if r := intake(warmup); r.Errors > 0 {
			return out, fmt.Errorf("intake warmup: %d errors, first: %w", r.Errors, r.FirstErr)
		}
	}
	for range rounds {
		r := raw(perRound)
		i := intake(perRound)
		out.Raw, out.Intake = add(out.Raw, r), add(out.Intake, i)
		if r.Rate() > 0 {
			out.RoundRatios = append(out.RoundRatios, i.Rate()/r.Rate())
		}
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	if out.Raw.Errors > 0 {
		return out, fmt.Errorf("raw publish: %d errors, first: %w", out.Raw.Errors, out.Raw.FirstErr)
	}
	if out.Intake.Errors > 0 {
		return out, fmt.Errorf("intake: %d errors, first: %w", out.Intake.Errors, out.Intake.FirstErr)
	}
	return out, nil
}

// PacedIntake is the intake's latency at a fixed request rate.
type PacedIntake struct {
	Rate    float64
	Latency Summary // from the scheduled send time to the 202
	Result  Result
}

// IntakeAtRate sends n PATCHes at rate per second (open loop, at most
// maxInFlight outstanding) and measures each from its scheduled time to its 202.
func IntakeAtRate(ctx context.Context, t Target, rate float64, n, maxInFlight int) (PacedIntake, error) {
	var lat Latencies
	res := t.measure(func() Result {
		return OpenLoop(ctx, rate, n, maxInFlight, func(ctx context.Context, i int, at time.Time) error {
			if _, err := t.Submit.PatchPeering(ctx, t.resource(i), PeeringBody(i)); err != nil {
				return err
			}
			lat.Add(time.Since(at))
			return nil
		})
	})
	out := PacedIntake{Rate: rate, Latency: lat.Summary(), Result: res}
	if res.Errors > 0 {
		return out, fmt.Errorf("paced intake: %d errors, first: %w", res.Errors, res.FirstErr)
	}
	return out, nil
}

// Throughput is an end-to-end run: n changes from the first PATCH to the
// last terminal event.
type Throughput struct {
	N      int
	States map[string]int
	// Submit is the closed-loop PATCH phase alone.
	Submit Result
	// Elapsed is from the first PATCH to the last terminal event.
	Elapsed time.Duration
	// FirstTerminal is from the first PATCH to the first terminal event.
	FirstTerminal time.Duration
	// SteadyRate is terminal events per second between the 10th and the
	// 90th percentile of their arrival (no warm-up, no tail).
	SteadyRate float64
	// CPU is the CPU time of each measured process from the first PATCH to
	// the last terminal event (a few milliseconds after it).
	CPU map[string]time.Duration
}

// Rate is succeeded changes per second over Elapsed.
func (t Throughput) Rate() float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(t.States["succeeded"]) / t.Elapsed.Seconds()
}

// EndToEndThroughput submits n changes as fast as clients concurrent clients
// can, while the workers run, and waits (up to wait) for every terminal event.
func EndToEndThroughput(ctx context.Context, t Target, clients, n int, wait time.Duration) (Throughput, error) {
	ids := make([]string, n)
	var cpu0 cpuSnapshot
	if t.CPU != nil {
		cpu0 = t.snapshot()
	}
	start := time.Now()
	sub := ClosedLoop(ctx, clients, n, func(ctx context.Context, i int) error {
		id, err := t.Submit.PatchPeering(ctx, t.resource(i), PeeringBody(i))
		ids[i] = id
		return err
	})
	out := Throughput{N: n, Submit: sub}
	if sub.Errors > 0 {
		return out, fmt.Errorf("submit: %d errors, first: %w", sub.Errors, sub.FirstErr)
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	at, states, err := t.Terminals.WaitAll(wctx, ids)
	out.States = states
	slices.SortFunc(at, time.Time.Compare)
	if len(at) > 0 {
		out.FirstTerminal, out.Elapsed = at[0].Sub(start), at[len(at)-1].Sub(start)
	}
	if lo, hi := len(at)/10, len(at)*9/10; hi > lo+1 {
		if d := at[hi-1].Sub(at[lo]); d > 0 {
			out.SteadyRate = float64(hi-1-lo) / d.Seconds()
		}
	}
	if t.CPU != nil {
		out.CPU = t.snapshot().since(cpu0)
	}
	if err != nil {
		return out, fmt.Errorf("waiting for terminal events (%d of %d seen): %w", states["succeeded"]+states["failed"], n, err)
	}
	return out, nil
}

// PacedEndToEnd is end-to-end latency at a fixed rate.
type PacedEndToEnd struct {
	Rate float64
	// Event is from the 202 to the terminal event's arrival.
	Event Summary
	// Poll is from the 202 to the answer of GET /v1/changes/{id}?wait= with a
	// terminal state (only when long-polling).
	Poll   Summary
	States map[string]int
	Result Result
}

// EndToEndAtRate sends n PATCHes at rate per second (open loop) and measures
// each change from its 202 to its terminal event. With longPoll, each client
// also follows its change with GET ?wait= as a bot would.
func EndToEndAtRate(ctx context.Context, t Target, rate float64, n, maxInFlight int, longPoll bool, wait time.Duration) (PacedEndToEnd, error) {
	var ev, poll Latencies
	states := make([]string, n)
	res := t.measure(func() Result {
		return OpenLoop(ctx, rate, n, maxInFlight, func(ctx context.Context, i int, _ time.Time) error {
			return endToEndOne(ctx, t, i, longPoll, wait, &ev, &poll, states)
		})
	})
	out := PacedEndToEnd{Rate: rate, Event: ev.Summary(), Poll: poll.Summary(), States: map[string]int{}, Result: res}
	for _, s := range states {
		if s != "" {
			out.States[s]++
		}
	}
	if res.Errors > 0 {
		return out, fmt.Errorf("paced end to end: %d errors, first: %w", res.Errors, res.FirstErr)
	}
	return out, nil
}

// endToEndOne submits change i and waits for its terminal event (and, with
// longPoll, for GET ?wait= to report it terminal).
func endToEndOne(ctx context.Context, t Target, i int, longPoll bool, wait time.Duration, ev, poll *Latencies, states []string) error {
	id, err := t.Submit.PatchPeering(ctx, t.resource(i), PeeringBody(i))
	if err != nil {
		return err
	}
	accepted := time.Now()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if longPoll {
		if _, err := t.Intake.WaitTerminal(wctx, id); err != nil {
			return err
		}
		poll.Add(time.Since(accepted))
	}
	term, err := t.Terminals.Wait(wctx, id)
	if err != nil {
		return err
	}
	ev.Add(max(term.At.Sub(accepted), 0))
	states[i] = term.State
	return nil
}

// Alternation is the intake of several targets measured in alternating
// rounds (target 0, 1, ..., then again), so that a shared machine's drift
// and noise fall on every target alike.
type Alternation struct {
	// Total is each target's result summed over the rounds.
	Total []Result
	// Rates is each target's rate per round: Rates[target][round].
	Rates [][]float64
}

// Ratio is target i's rate over target j's, over all rounds, and per round.
func (a Alternation) Ratio(i, j int) (total float64, perRound []float64) {
	for r := range a.Rates[i] {
		if r < len(a.Rates[j]) && a.Rates[j][r] > 0 {
			perRound = append(perRound, a.Rates[i][r]/a.Rates[j][r])
		}
	}
	if rj := a.Total[j].Rate(); rj > 0 {
		total = a.Total[i].Rate() / rj
	}
	return total, perRound
}

// AlternateIntake sends warmup intake PATCHes to each target, then rounds
// in which each target in turn gets perRound PATCHes from clients
// concurrent clients (closed loop). Any failed request is an error.
func AlternateIntake(ctx context.Context, targets []Target, clients, rounds, perRound, warmup int) (Alternation, error) {
	out := Alternation{Total: make([]Result, len(targets)), Rates: make([][]float64, len(targets))}
	seq := 0
	do := func(t Target, n int) Result {
		base := seq
		seq += n
		return t.measure(func() Result {
			return ClosedLoop(ctx, clients, n, func(ctx context.Context, i int) error {
				_, err := t.Submit.PatchPeering(ctx, t.resource(base+i), PeeringBody(base+i))
				return err
			})
		})
	}
	if warmup > 0 {
		for k, t := range targets {
			if r := do(t, warmup); r.Errors > 0 {
				return out, fmt.Errorf("target %d warm-up: %d errors, first: %w", k, r.Errors, r.FirstErr)
			}
		}
	}
	for range rounds {
		for k, t := range targets {
			r := do(t, perRound)
			out.Total[k] = add(out.Total[k], r)
			out.Rates[k] = append(out.Rates[k], r.Rate())
			if r.Errors > 0 {
				return out, fmt.Errorf("target %d: %d errors, first: %w", k, r.Errors, r.FirstErr)
			}
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
		}
	}
	return out, nil
}
