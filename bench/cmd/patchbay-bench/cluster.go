package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
)

// deployment is one side of the cluster comparison.
type deployment struct {
	label string
	st    *stack
	t     benchrun.Target
	terms *benchrun.Terminals
	fast  *benchrun.FastIntake
}

// e2eRun is one end-to-end throughput run of a deployment.
type e2eRun struct {
	workers int
	res     [2]benchrun.Throughput // single, cluster
}

type clusterReport struct {
	cfg    config
	labels [2]string
	intake benchrun.Alternation
	e2e    []e2eRun
	memory [2]map[string]benchrun.Memory
}

// cluster runs the cluster scenario: a single nats-server and a 3-node
// JetStream cluster with R3 streams and buckets side by side, each with its
// own api, against one unlimited simulator.
func (r *run) cluster(ctx context.Context) error {
	cfg := r.cfg
	resources := benchrun.PeeringIDs(cfg.resources)
	_, simURL, srv, err := r.serveSim(0, 1000, resources)
	if err != nil {
		return err
	}
	defer srv.Close()
	var deps [2]*deployment
	for i, spec := range []struct {
		name  string
		nodes int
		label string
	}{{"single", 1, "single node (R1)"}, {"cluster", 3, "3-node cluster (R3)"}} {
		st, err := newStack(spec.name, r.dir, cfg, r.cancel)
		if err != nil {
			return err
		}
		r.stacks = append(r.stacks, st)
		r.logf("%s: starting %d nats-server process(es) and an api", spec.label, spec.nodes)
		if err := st.startNATS(ctx, spec.nodes); err != nil {
			return err
		}
		if err := st.startAPI(ctx); err != nil {
			return err
		}
		d := &deployment{label: spec.label, st: st}
		if d.terms, err = benchrun.WatchTerminals(st.nc); err != nil {
			return err
		}
		defer d.terms.Close()
		if d.fast, err = benchrun.NewFastIntake(st.apiURL, benchToken, 2*cfg.clients); err != nil {
			return err
		}
		defer d.fast.Close()
		d.t = benchrun.Target{Submit: d.fast, Terminals: d.terms, Resources: resources, CPU: st.cpu}
		deps[i] = d
	}
	rep := clusterReport{cfg: cfg, labels: [2]string{deps[0].label, deps[1].label}}

	r.logf("intake: %d clients, %d alternating rounds of %d per deployment (+%d warm-up), no worker running",
		cfg.clients, cfg.clusterRounds, cfg.clusterPerRound, cfg.clusterWarmup)
	if rep.intake, err = benchrun.AlternateIntake(ctx, []benchrun.Target{deps[0].t, deps[1].t},
		cfg.clients, cfg.clusterRounds, cfg.clusterPerRound, cfg.clusterWarmup); err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	for _, d := range deps {
		if err := benchrun.PurgeChanges(ctx, d.st.js); err != nil {
			return fmt.Errorf("%s: purge the work queue: %w", d.label, err)
		}
	}
	for _, workers := range cfg.clusterWorkers {
		run := e2eRun{workers: workers}
		for i, d := range deps {
			if err := d.st.startWorkers(ctx, workers, simURL, "LOG_LEVEL=warn"); err != nil {
				return err
			}
			r.logf("%s: end to end, %d changes, %d clients, %d worker(s)", d.label, cfg.clusterE2EChanges, cfg.clients, workers)
			res, err := benchrun.EndToEndThroughput(ctx, d.t, cfg.clients, cfg.clusterE2EChanges, 90*time.Second)
			if err != nil {
				return fmt.Errorf("%s, end to end with %d worker(s): %w", d.label, workers, err)
			}
			run.res[i] = res
			rep.memory[i] = mergeMemory(rep.memory[i], d.st.memory()) // before the workers go
			if err := d.st.stopWorkers(); err != nil {
				return err
			}
		}
		rep.e2e = append(rep.e2e, run)
	}
	for i, d := range deps {
		rep.memory[i] = mergeMemory(rep.memory[i], d.st.memory())
	}
	rep.print(r.out)
	return nil
}

// mergeMemory keeps the larger VmHWM per role.
func mergeMemory(a, b map[string]benchrun.Memory) map[string]benchrun.Memory {
	if a == nil {
		a = map[string]benchrun.Memory{}
	}
	for k, m := range b {
		if m.HWM > a[k].HWM {
			a[k] = m
		}
	}
	return a
}

func (rep clusterReport) print(out io.Writer) {
	cfg := rep.cfg
	fmt.Fprintf(out, "\nSingle node vs 3-node JetStream cluster (issue 7), every process on this machine, %s\n", cpus())
	fmt.Fprintf(out, "single: 1 nats-server, NATS_REPLICAS=1; cluster: 3 nats-server processes with routes on 127.0.0.1, NATS_REPLICAS=3 (R3 streams and KV),\n")
	fmt.Fprintf(out, "api and workers given all three URLs; each deployment has its own api; one unlimited simulator in the driver, %d peerings.\n", cfg.resources)
	fmt.Fprintf(out, "CPU per operation in µs by process (nats-server and worker summed over processes; driver = load generator + simulator).\n\n")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "scenario\t%s\t%s\tcluster / single\t\n", rep.labels[0], rep.labels[1])
	in := rep.intake
	ratio, perRound := in.Ratio(1, 0)
	fmt.Fprintf(w, "intake PATCH -> 202, %d clients, %d rounds of %d\t%.0f req/s\t%.0f req/s\t%.2f (per round: %s)\t\n",
		cfg.clients, cfg.clusterRounds, cfg.clusterPerRound, in.Total[0].Rate(), in.Total[1].Rate(), ratio, ratios(perRound))
	fmt.Fprintf(w, "  CPU per request\t%s\t%s\t\t\n", cpuLine(in.Total[0].CPU, in.Total[0].Done), cpuLine(in.Total[1].CPU, in.Total[1].Done))
	for _, e := range rep.e2e {
		s, c := e.res[0], e.res[1]
		fmt.Fprintf(w, "end to end, %d changes, %d clients, %d worker(s)\t%.0f changes/s (steady %.0f)\t%.0f changes/s (steady %.0f)\t%.2f (steady %.2f)\t\n",
			s.N, cfg.clients, e.workers, s.Rate(), s.SteadyRate, c.Rate(), c.SteadyRate, div(c.Rate(), s.Rate()), div(c.SteadyRate, s.SteadyRate))
		fmt.Fprintf(w, "  outcome\t%s\t%s\t\t\n", outcome(s), outcome(c))
		fmt.Fprintf(w, "  CPU per change\t%s\t%s\t\t\n", cpuLine(s.CPU, s.N), cpuLine(c.CPU, c.N))
	}
	fmt.Fprintf(w, "peak resident memory (VmHWM, largest process of each role)\t%s\t%s\t\t\n", memLine(rep.memory[0]), memLine(rep.memory[1]))
	_ = w.Flush()
	fmt.Fprintln(out)
}

func outcome(t benchrun.Throughput) string {
	return fmt.Sprintf("%d succeeded, %d failed; submit %.0f req/s", t.States["succeeded"], t.States["failed"], t.Submit.Rate())
}

func memLine(m map[string]benchrun.Memory) string {
	var parts []string
	for _, name := range []string{"nats-server", "api", "worker"} {
		if v, ok := m[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f MiB", name, benchrun.MiB(v.HWM)))
		}
	}
	return strings.Join(parts, ", ")
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
