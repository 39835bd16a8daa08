// Command patchbay-bench measures Patchbay with its real binaries as
// separate processes on 127.0.0.1: nats-server(s) with JetStream, the
// Confluent Cloud simulator (in this process by default, or cmd/ccloudsim),
// cmd/api and cmd/worker. It builds nothing; give it the binaries:
//
//	patchbay-bench -nats-server bin/nats-server -api bin/api -worker bin/worker [-scenario process|goodput|cluster]
//
// -scenario process (the default) runs, in order:
//
//  1. intake vs raw publish: closed loop with -clients concurrent clients,
//     alternating rounds of raw synchronous JetStream publishes of the same
//     change messages and intake PATCHes (no worker running);
//  2. the intake at a fixed -intake-rate (open loop): p50/p99 latency;
//  3. (work queue purged, worker started) end to end: -e2e-changes changes
//     as fast as -clients clients can submit them, to the last terminal
//     event;
//  4. end to end at a fixed -e2e-rate: latency from the 202 to the terminal
//     event, each client long-polling its change as a bot would;
//
// then reads the peak resident memory (VmHWM) of every process, stops them
// all and prints one table.
//
// -scenario goodput (issue 4) applies -goodput-changes changes over
// -goodput-resources peerings to a simulator limited to each of
// -goodput-limits requests/second, through Patchbay (one nats-server, one
// api, -goodput-workers worker processes) and, against a fresh simulator with
// the same limit, through a plain go-retryablehttp client with its defaults
// and -baseline-concurrency goroutines; it reports goodput / limit, the share
// of 429s, Retry-After violations and the changes that did not succeed.
//
// -scenario cluster (issue 7) runs a single nats-server and a 3-node
// JetStream cluster (R3 streams and buckets) side by side, each with its own
// api: intake throughput in alternating rounds, then end-to-end throughput
// with each of -cluster-workers workers, and the ratio cluster / single.
//
// Everything is bounded by -timeout and cleaned up on exit, interrupt or
// failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
)

const (
	benchToken = "bench-token-0123456789abcdef"
	simKey     = "bench-key"
	simSecret  = "bench-secret-0123456789"
	stopGrace  = 15 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "patchbay-bench:", err)
		os.Exit(1)
	}
}

// config is the driver's configuration, from flags.
type config struct {
	natsServer, api, worker, ccloudsim string

	clients, resources int

	intakeRounds, intakePerRound, intakeWarmup int
	intakeRate                                 float64
	intakeRateFor                              time.Duration

	e2eChanges  int
	e2eRate     float64
	e2eRateFor  time.Duration
	longPoll    bool
	timeout     time.Duration
	dir         string
	keep        bool
	targetRatio float64

	scenario string

	goodputLimits       []int
	goodputChanges      int
	goodputResources    int
	goodputWorkers      int
	baselineConcurrency int
	baseline            bool
	goodputWarm         bool
	// goodputChanging is the changing-limit run's schedule (Base 0: none).
	goodputChanging        benchrun.Schedule
	goodputChangingChanges int

	clusterWorkers    []int
	clusterRounds     int
	clusterPerRound   int
	clusterWarmup     int
	clusterE2EChanges int

	workerOnly string
}

// Scenarios and their default -timeout.
var scenarioTimeouts = map[string]time.Duration{
	"process": 4 * time.Minute,
	"goodput": 15 * time.Minute,
	"cluster": 3 * time.Minute,
	"workers": 15 * time.Minute,
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("patchbay-bench", flag.ContinueOnError)
	fs.StringVar(&c.natsServer, "nats-server", "", "path of a nats-server binary (required)")
	fs.StringVar(&c.api, "api", "", "path of the cmd/api binary (required)")
	fs.StringVar(&c.worker, "worker", "", "path of the cmd/worker binary (required)")
	fs.StringVar(&c.ccloudsim, "ccloudsim", "", "path of the cmd/ccloudsim binary; empty runs the simulator in this process with -resources seeded peerings (the binary only has the 3 demo peerings, i.e. 3 ordered lanes)")
	fs.IntVar(&c.clients, "clients", 64, "concurrent clients of the closed-loop runs")
	fs.IntVar(&c.resources, "resources", 256, "peerings the load is spread over")
	fs.IntVar(&c.intakeRounds, "intake-rounds", 3, "alternating raw/intake rounds")
	fs.IntVar(&c.intakePerRound, "intake-per-round", 15000, "operations of each kind per round")
	fs.IntVar(&c.intakeWarmup, "intake-warmup", 2000, "warm-up operations of each kind")
	fs.Float64Var(&c.intakeRate, "intake-rate", 1000, "paced intake requests per second")
	fs.DurationVar(&c.intakeRateFor, "intake-rate-duration", 10*time.Second, "duration of the paced intake run")
	fs.IntVar(&c.e2eChanges, "e2e-changes", 20000, "changes of the end-to-end throughput run")
	fs.Float64Var(&c.e2eRate, "e2e-rate", 200, "paced end-to-end changes per second")
	fs.DurationVar(&c.e2eRateFor, "e2e-rate-duration", 10*time.Second, "duration of the paced end-to-end run")
	fs.BoolVar(&c.longPoll, "long-poll", true, "in the paced end-to-end run, follow each change with GET /v1/changes/{id}?wait=30s")
	fs.DurationVar(&c.timeout, "timeout", 0, "upper bound of the whole run (default: process 4m, goodput 15m, cluster 3m)")
	fs.StringVar(&c.scenario, "scenario", "process", "process: intake, latency, end to end and memory; goodput: throughput under an upstream rate limit vs go-retryablehttp (issue 4); cluster: 3-node R3 JetStream cluster next to a single node (issue 7); workers: order, fencing and throughput of the workers (issue 11)")
	fs.StringVar(&c.workerOnly, "workers-only", "", "workers: run only the steps whose name contains this (failing, throughput, frozen, stalled)")
	limits := fs.String("goodput-limits", "20,100", "goodput: simulator limits in requests/second, comma separated")
	fs.IntVar(&c.goodputChanges, "goodput-changes", 2000, "goodput: changes per run")
	fs.IntVar(&c.goodputResources, "goodput-resources", 500, "goodput: peerings the changes are spread over")
	fs.IntVar(&c.goodputWorkers, "goodput-workers", 3, "goodput: worker processes")
	fs.IntVar(&c.baselineConcurrency, "baseline-concurrency", 0, "goodput: goroutines of the go-retryablehttp baseline (0: workers x PATCHBAY_PARTITIONS lanes = 3 x 32)")
	fs.BoolVar(&c.baseline, "baseline", true, "goodput: also run the go-retryablehttp baseline")
	changing := fs.String("goodput-changing", "40,10@10s,40@16s", "goodput: a run under a changing limit, LIMIT[,LIMIT@TIME...] from the simulator's first request (\"\" to skip)")
	fs.IntVar(&c.goodputChangingChanges, "goodput-changing-changes", 1200, "goodput: changes of the changing-limit run")
	fs.BoolVar(&c.goodputWarm, "goodput-warm", false, "goodput: apply one change through Patchbay before the measured ones, so the fleet-wide gate has learned the limit (as it keeps it in KV for 24 h); the simulator's counters are reset after it")
	workers := fs.String("cluster-workers", "1,3", "cluster: worker counts of the end-to-end runs, comma separated")
	fs.IntVar(&c.clusterRounds, "cluster-intake-rounds", 3, "cluster: alternating intake rounds (single, cluster)")
	fs.IntVar(&c.clusterPerRound, "cluster-intake-per-round", 5000, "cluster: intake requests per round and deployment")
	fs.IntVar(&c.clusterWarmup, "cluster-intake-warmup", 1000, "cluster: warm-up intake requests per deployment")
	fs.IntVar(&c.clusterE2EChanges, "cluster-e2e-changes", 8000, "cluster: changes of each end-to-end run")
	fs.StringVar(&c.dir, "dir", "", "working directory for NATS data and process logs (default: a new temporary directory, removed afterwards)")
	fs.BoolVar(&c.keep, "keep", false, "keep the working directory")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for name, p := range map[string]string{"-nats-server": c.natsServer, "-api": c.api, "-worker": c.worker, "-ccloudsim": c.ccloudsim} {
		if p == "" && name != "-ccloudsim" {
			return c, fmt.Errorf("%s is required", name)
		}
		if p != "" {
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return c, fmt.Errorf("%s %q: not an executable file", name, p)
			}
		}
	}
	switch {
	case c.clients < 1 || c.resources < 1:
		return c, errors.New("-clients and -resources must be >= 1")
	case c.intakeRounds < 1 || c.intakePerRound < 1 || c.e2eChanges < 1:
		return c, errors.New("-intake-rounds, -intake-per-round and -e2e-changes must be >= 1")
	case c.intakeRate <= 0 || c.e2eRate <= 0 || c.intakeRateFor <= 0 || c.e2eRateFor <= 0:
		return c, errors.New("rates and durations must be > 0")
	case c.timeout < 0:
		return c, errors.New("-timeout must be > 0")
	}
	def, ok := scenarioTimeouts[c.scenario]
	if !ok {
		return c, fmt.Errorf("-scenario %q: want process, goodput, cluster or workers", c.scenario)
	}
	if c.timeout == 0 {
		c.timeout = def
	}
	var err error
	if c.goodputLimits, err = parseCounts(*limits); err != nil {
		return c, fmt.Errorf("-goodput-limits: %w", err)
	}
	if *changing != "" {
		if c.goodputChanging, err = benchrun.ParseSchedule(*changing); err != nil {
			return c, fmt.Errorf("-goodput-changing: %w", err)
		}
	}
	if c.clusterWorkers, err = parseCounts(*workers); err != nil {
		return c, fmt.Errorf("-cluster-workers: %w", err)
	}
	switch {
	case c.goodputChanges < 1 || c.goodputResources < 1 || c.goodputWorkers < 1 || c.baselineConcurrency < 0 || c.goodputChangingChanges < 1:
		return c, errors.New("-goodput-changes, -goodput-changing-changes, -goodput-resources and -goodput-workers must be >= 1, -baseline-concurrency >= 0")
	case c.clusterRounds < 1 || c.clusterPerRound < 1 || c.clusterWarmup < 0 || c.clusterE2EChanges < 1:
		return c, errors.New("-cluster-intake-rounds, -cluster-intake-per-round and -cluster-e2e-changes must be >= 1")
	}
	if c.baselineConcurrency == 0 {
		c.baselineConcurrency = c.goodputWorkers * partitions
	}
	c.targetRatio = 0.5
	return c, nil
}

func realMain(ctx context.Context) error {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, cfg.timeout, fmt.Errorf("-timeout %s reached", cfg.timeout))
	defer cancelTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	dir := cfg.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "patchbay-bench-"); err != nil {
			return err
		}
		if !cfg.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := &run{cfg: cfg, dir: dir, out: os.Stdout, cancel: cancel}
	var runErr error
	switch cfg.scenario {
	case "goodput":
		runErr = r.goodput(ctx)
	case "cluster":
		runErr = r.cluster(ctx)
	case "workers":
		runErr = r.workers(ctx)
	default:
		runErr = r.run(ctx)
	}
	stopErr := r.stopAll()
	if runErr != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			runErr = fmt.Errorf("%w (%v)", runErr, cause)
		}
		return errors.Join(runErr, stopErr)
	}
	return stopErr
}

// run is one benchmark run.
type run struct {
	cfg    config
	dir    string
	out    io.Writer
	cancel context.CancelCauseFunc

	simSrv       *http.Server // the process scenario's in-process simulator
	fast         *benchrun.FastIntake
	hc           *http.Client
	simInProcess bool
	resources    []string
	simURL       string
	stacks       []*stack // every scenario's deployments of real processes
	sims         []*http.Server
}

// start starts a child whose unexpected exit ends the run.
// stopAll stops every child in reverse start order (worker before api
// before NATS) and the in-process simulator.
func (r *run) stopAll() error {
	if r.fast != nil {
		r.fast.Close()
	}
	if r.hc != nil {
		r.hc.CloseIdleConnections()
	}
	var errs []error
	for i := len(r.stacks) - 1; i >= 0; i-- {
		if err := r.stacks[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range r.sims {
		_ = s.Close()
	}
	if r.simSrv != nil {
		_ = r.simSrv.Close()
	}
	return errors.Join(errs...)
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (r *run) run(ctx context.Context) error {
	st, err := newStack("process", r.dir, r.cfg, r.cancel)
	if err != nil {
		return err
	}
	r.stacks = append(r.stacks, st)
	if err := st.startNATS(ctx, 1); err != nil {
		return err
	}
	if err := r.startSimulator(ctx, st); err != nil {
		return err
	}
	if err := st.startAPI(ctx); err != nil {
		return err
	}
	js := st.js
	terms, err := benchrun.WatchTerminals(st.nc)
	if err != nil {
		return err
	}
	defer terms.Close()
	if r.fast, err = benchrun.NewFastIntake(st.apiURL, benchToken, 2*r.cfg.clients); err != nil {
		return err
	}
	r.hc = benchrun.NewHTTPClient(r.cfg.clients)
	t := benchrun.Target{
		Submit:    r.fast,
		Intake:    &benchrun.Intake{BaseURL: st.apiURL, Token: benchToken, HTTP: r.hc},
		Raw:       benchrun.RawPublisher{JS: js},
		Terminals: terms,
		Resources: r.resources,
		CPU:       st.cpu,
	}
	var rep report
	rep.cfg = r.cfg

	r.logf("intake vs raw publish: %d clients, %d rounds of %d each (+%d warm-up)", r.cfg.clients, r.cfg.intakeRounds, r.cfg.intakePerRound, r.cfg.intakeWarmup)
	if rep.compare, err = benchrun.CompareIntake(ctx, t, r.cfg.clients, r.cfg.intakeRounds, r.cfg.intakePerRound, r.cfg.intakeWarmup); err != nil {
		return fmt.Errorf("intake vs raw publish: %w", err)
	}
	n := int(r.cfg.intakeRate * r.cfg.intakeRateFor.Seconds())
	r.logf("intake at %.0f/s for %s (%d requests)", r.cfg.intakeRate, r.cfg.intakeRateFor, n)
	if rep.paced, err = benchrun.IntakeAtRate(ctx, t, r.cfg.intakeRate, n, 1024); err != nil {
		return fmt.Errorf("paced intake: %w", err)
	}
	if err := benchrun.PurgeChanges(ctx, js); err != nil {
		return fmt.Errorf("purge the work queue: %w", err)
	}
	if err := st.startWorkers(ctx, 1, r.simURL, "LOG_LEVEL=warn"); err != nil {
		return err
	}
	r.logf("end to end: %d changes, %d clients, one worker", r.cfg.e2eChanges, r.cfg.clients)
	if rep.e2e, err = benchrun.EndToEndThroughput(ctx, t, r.cfg.clients, r.cfg.e2eChanges, 2*time.Minute); err != nil {
		return fmt.Errorf("end to end: %w", err)
	}
	n = int(r.cfg.e2eRate * r.cfg.e2eRateFor.Seconds())
	r.logf("end to end at %.0f/s for %s (%d changes, long-poll %v)", r.cfg.e2eRate, r.cfg.e2eRateFor, n, r.cfg.longPoll)
	if rep.e2ePaced, err = benchrun.EndToEndAtRate(ctx, t, r.cfg.e2eRate, n, 1024, r.cfg.longPoll, time.Minute); err != nil {
		return fmt.Errorf("paced end to end: %w", err)
	}
	rep.memory = st.memory()
	rep.simInProcess = r.simInProcess
	rep.resources = len(r.resources)
	rep.print(r.out)
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startSimulator starts the Confluent Cloud simulator: in this process with
// -resources seeded peerings, or as st's child process (cmd/ccloudsim).
func (r *run) startSimulator(ctx context.Context, st *stack) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	r.simURL = "http://" + addr
	if r.cfg.ccloudsim != "" {
		_, err = st.start("ccloudsim", r.cfg.ccloudsim, nil, []string{
			"SIM_ADDR=" + addr, "SIM_API_KEY=" + simKey, "SIM_API_SECRET=" + simSecret, "SIM_RATE_LIMIT=0",
		})
		if err != nil {
			return err
		}
		// cmd/ccloudsim seeds only the demo peerings.
		r.resources = []string{"p-demo1", "p-demo2", "p-demo3"}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		for {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("ccloudsim not listening on %s: %w", addr, context.Cause(ctx))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	sim, err := ccloudsim.New(ccloudsim.Options{Credentials: map[string]string{simKey: simSecret}, LogLimit: 1000, BaseURL: r.simURL})
	if err != nil {
		return err
	}
	r.resources = benchrun.PeeringIDs(r.cfg.resources)
	benchrun.SeedPeerings(sim, r.resources)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	r.simSrv = &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.simSrv.Serve(ln) }()
	r.simInProcess = true
	return nil
}

// cpus describes the CPUs the processes may use.
func cpus() string {
	return fmt.Sprintf("%d CPUs, GOMAXPROCS %d", runtime.NumCPU(), runtime.GOMAXPROCS(0))
}
