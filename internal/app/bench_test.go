package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/retry"
)

// Benchmarks of the whole pipeline in one process: embedded NATS (file
// storage, as in production), the api behind a loopback HTTP server, the
// simulator without rate limit or latency and, for the end-to-end ones, one
// worker. Production topology (32 partitions) and log level (warn, to a
// discarded writer). Run them with `make bench`, or e.g.
//
//	go test ./internal/app -run '^$' -bench . -benchtime 10000x
//
// cmd/patchbay-bench measures the same against the real binaries.

const (
	benchClients   = 64   // concurrent HTTP clients / publishers
	benchResources = 256  // peerings the load is spread over (ordered lanes)
	benchIntakeRPS = 1000 // paced intake rate
	benchE2ERPS    = 200  // paced end-to-end rate
)

// newBenchStack starts NATS, the simulator and the api (the common test
// stack, logs discarded), and one worker when worker is true, and returns
// them as a load target.
func newBenchStack(b *testing.B, worker bool) benchrun.Target {
	b.Helper()
	// No per-caller intake limit (the stack's default): one caller sends
	// all the load.
	st := newStackWith(b, stackOptions{ackWait: 60 * time.Second, quiet: true, sim: ccloudsim.Options{LogLimit: 1000}})
	ids := benchrun.PeeringIDs(benchResources)
	benchrun.SeedPeerings(st.sim, ids)
	if worker {
		cfg := st.workerConfig()
		cfg.CCloud.Timeout = 10 * time.Second
		cfg.Retry = retry.Settings{MaxErrorAttempts: 5, MaxAge: time.Hour, MaxRateLimitWait: time.Minute,
			BackoffBase: 100 * time.Millisecond, BackoffMax: 5 * time.Second}
		st.startWorker(cfg)
	}
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(terms.Close)
	hc := benchrun.NewHTTPClient(benchClients)
	b.Cleanup(hc.CloseIdleConnections)
	fast, err := benchrun.NewFastIntake(st.apiURL, testToken, 2*benchClients)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fast.Close)
	return benchrun.Target{
		Submit:    fast,
		Intake:    &benchrun.Intake{BaseURL: st.apiURL, Token: testToken, HTTP: hc},
		CPU:       func() map[string]time.Duration { return map[string]time.Duration{"self": benchrun.SelfCPU()} },
		Raw:       benchrun.RawPublisher{JS: st.js},
		Terminals: terms,
		Resources: ids,
	}
}

// BenchmarkIntake compares the intake (PATCH to 202) with a raw synchronous
// JetStream publish of the same change messages, both closed loop with 64
// concurrent clients on the same NATS server, in alternating rounds. b.N is
// the number of requests of each kind, so ns/op is per raw publish plus
// intake request; the figures are intake_req/s, raw_pub/s and their ratio,
// and the CPU the whole process used per operation of each kind. The intake
// is driven by a minimal keep-alive HTTP/1.1 client (benchrun.FastIntake) so
// that the load generator takes as little as possible of the shared CPU.
func BenchmarkIntake(b *testing.B) {
	t := newBenchStack(b, false)
	ctx := b.Context()
	if b.N >= 1000 {
		if _, err := benchrun.CompareIntake(ctx, t, benchClients, 1, 500, 0); err != nil {
			b.Fatal(err)
		}
	}
	rounds := min(b.N, 4)
	b.ResetTimer()
	cmp, err := benchrun.CompareIntake(ctx, t, benchClients, rounds, b.N/rounds, 0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(cmp.IntakeRate(), "intake_req/s")
	b.ReportMetric(cmp.RawRate(), "raw_pub/s")
	b.ReportMetric(cmp.Ratio(), "intake/raw")
	// CPU of the whole process (NATS, api, load generator) per operation.
	b.ReportMetric(float64(cmp.Intake.TotalCPUPerOp().Microseconds()), "intake_cpu_us/req")
	b.ReportMetric(float64(cmp.Raw.TotalCPUPerOp().Microseconds()), "raw_cpu_us/pub")
	reportOtherCores(b, cmp.Intake.CPU, cmp.Intake.Elapsed)
}

// BenchmarkIntakeClosedLoop is the intake alone, closed loop with 64
// clients: a clean target for profiling the api side, e.g.
//
//	make profile   (writes the test binary and cpu.out to a temporary directory)
func BenchmarkIntakeClosedLoop(b *testing.B) {
	t := newBenchStack(b, false)
	b.ResetTimer()
	res := benchrun.ClosedLoop(b.Context(), benchClients, b.N, func(ctx context.Context, i int) error {
		_, err := t.Submit.PatchPeering(ctx, t.Resources[i%len(t.Resources)], benchrun.PeeringBody(i))
		return err
	})
	b.StopTimer()
	if res.Errors > 0 {
		b.Fatalf("%d errors, first: %v", res.Errors, res.FirstErr)
	}
	b.ReportMetric(res.Rate(), "intake_req/s")
}

// BenchmarkIntakeLatency sends b.N PATCHes at a fixed 1,000/s (open loop)
// and reports the latency from each request's scheduled time to its 202.
func BenchmarkIntakeLatency(b *testing.B) {
	t := newBenchStack(b, false)
	b.ResetTimer()
	p, err := benchrun.IntakeAtRate(b.Context(), t, benchIntakeRPS, b.N, 512)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(benchrun.Ms(p.Latency.P50), "p50_ms")
	b.ReportMetric(benchrun.Ms(p.Latency.P99), "p99_ms")
	b.ReportMetric(benchrun.Ms(p.Latency.Max), "max_ms")
	reportOtherCores(b, p.Result.CPU, p.Result.Elapsed)
}

// BenchmarkEndToEnd submits b.N changes over 256 peerings as fast as 64
// clients can while one worker applies them, and reports succeeded changes
// per second from the first PATCH to the last terminal event.
func BenchmarkEndToEnd(b *testing.B) {
	t := newBenchStack(b, true)
	b.ResetTimer()
	tp, err := benchrun.EndToEndThroughput(b.Context(), t, benchClients, b.N, 2*time.Minute)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if tp.States["succeeded"] != b.N {
		b.Fatalf("%d of %d changes succeeded: %v", tp.States["succeeded"], b.N, tp.States)
	}
	b.ReportMetric(tp.Rate(), "changes/s")
	b.ReportMetric(tp.SteadyRate, "steady_changes/s")
	b.ReportMetric(tp.Submit.Rate(), "submit_req/s")
	b.ReportMetric(float64(tp.CPU["self"].Microseconds())/float64(b.N), "cpu_us/change")
	reportOtherCores(b, tp.CPU, tp.Elapsed)
}

// BenchmarkEndToEndLatency sends b.N changes at a fixed 200/s (open loop)
// with one worker and reports the latency from each 202 to the change's
// terminal event; every client also long-polls its change
// (GET /v1/changes/{id}?wait=30s), as a bot does (poll_p99_ms).
func BenchmarkEndToEndLatency(b *testing.B) {
	t := newBenchStack(b, true)
	b.ResetTimer()
	p, err := benchrun.EndToEndAtRate(b.Context(), t, benchE2ERPS, b.N, 512, true, time.Minute)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if p.States["succeeded"] != b.N {
		b.Fatalf("%d of %d changes succeeded: %v", p.States["succeeded"], b.N, p.States)
	}
	b.ReportMetric(benchrun.Ms(p.Event.P50), "p50_ms")
	b.ReportMetric(benchrun.Ms(p.Event.P99), "p99_ms")
	b.ReportMetric(benchrun.Ms(p.Poll.P99), "poll_p99_ms")
	reportOtherCores(b, p.Result.CPU, p.Result.Elapsed)
}

// reportOtherCores reports how many cores other processes of the machine
// kept busy meanwhile: on a shared machine, figures taken while it is well
// above zero are suspect.
func reportOtherCores(b *testing.B, cpu map[string]time.Duration, elapsed time.Duration) {
	if c := benchrun.OtherCores(cpu, elapsed); c >= 0 {
		b.ReportMetric(c, "other_cores")
	}
}
