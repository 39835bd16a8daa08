package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
)

// Targets of the issue.
const (
	targetIntakeP99 = 5 * time.Millisecond
	targetE2ERate   = 2000.0
	targetMemory    = 64 << 20
)

// report is what one run measured.
type report struct {
	cfg          config
	compare      benchrun.IntakeComparison
	paced        benchrun.PacedIntake
	e2e          benchrun.Throughput
	e2ePaced     benchrun.PacedEndToEnd
	memory       map[string]benchrun.Memory
	simInProcess bool
	resources    int
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

// cpuLine renders CPU per operation by process, e.g. "api 52 µs, nats-server 31 µs".
func cpuLine(cpu map[string]time.Duration, ops int) string {
	if ops == 0 || len(cpu) == 0 {
		return "n/a"
	}
	var parts []string
	var total time.Duration
	for _, name := range []string{"api", "worker", "nats-server", "ccloudsim", "driver"} {
		d, ok := cpu[name]
		if !ok {
			continue
		}
		total += d
		parts = append(parts, fmt.Sprintf("%s %.0f", name, float64(d.Microseconds())/float64(ops)))
	}
	return fmt.Sprintf("%s; total %.0f µs", strings.Join(parts, ", "), float64(total.Microseconds())/float64(ops))
}

// noise renders how busy other processes kept the machine during a phase.
func noise(cpu map[string]time.Duration, elapsed time.Duration) string {
	c := benchrun.OtherCores(cpu, elapsed)
	if c < 0 {
		return ""
	}
	return fmt.Sprintf(" [other processes: %.2f cores]", c)
}

func ratios(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(s, " ")
}

func (rep report) print(out io.Writer) {
	sim := fmt.Sprintf("simulator in the driver process, %d peerings, no rate limit, no latency", rep.resources)
	if !rep.simInProcess {
		sim = fmt.Sprintf("cmd/ccloudsim process, %d demo peerings, no rate limit, no latency", rep.resources)
	}
	driver := "driver = load generator"
	if rep.simInProcess {
		driver = "driver = load generator + simulator"
	}
	fmt.Fprintf(out, "\nPatchbay process benchmark: nats-server, api and worker as separate processes on 127.0.0.1, %s\n", cpus())
	fmt.Fprintf(out, "%s.\nCPU per operation in µs by process (%s); other processes: cores kept busy by the rest of the machine.\n\n", sim, driver)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	c := rep.compare
	fmt.Fprintf(w, "scenario\tresult\ttarget\t\n")
	fmt.Fprintf(w, "intake vs raw publish, %d clients, closed loop\t\t\t\n", c.Clients)
	fmt.Fprintf(w, "  raw JetStream sync publish\t%.0f msg/s (%d msgs)\t\t\n", c.RawRate(), c.Raw.Done)
	fmt.Fprintf(w, "    CPU per publish\t%s%s\t\t\n", cpuLine(c.Raw.CPU, c.Raw.Done), noise(c.Raw.CPU, c.Raw.Elapsed))
	fmt.Fprintf(w, "  intake PATCH -> 202\t%.0f req/s (%d reqs)\t\t\n", c.IntakeRate(), c.Intake.Done)
	fmt.Fprintf(w, "    CPU per request\t%s%s\t\t\n", cpuLine(c.Intake.CPU, c.Intake.Done), noise(c.Intake.CPU, c.Intake.Elapsed))
	fmt.Fprintf(w, "  intake / raw\t%.2f (per round: %s)\t>= %.2f\t%s\n", c.Ratio(), ratios(c.RoundRatios), rep.cfg.targetRatio, verdict(c.Ratio() >= rep.cfg.targetRatio))
	p := rep.paced
	fmt.Fprintf(w, "intake at %.0f/s, open loop, %d reqs\tp50 %.2f ms, p99 %.2f ms, max %.2f ms\tp99 < %s\t%s\n",
		p.Rate, p.Result.Done, benchrun.Ms(p.Latency.P50), benchrun.Ms(p.Latency.P99), benchrun.Ms(p.Latency.Max),
		targetIntakeP99, verdict(p.Latency.N > 0 && p.Latency.P99 < targetIntakeP99))
	fmt.Fprintf(w, "    CPU per request\t%s%s\t\t\n", cpuLine(p.Result.CPU, p.Result.Done), noise(p.Result.CPU, p.Result.Elapsed))
	e := rep.e2e
	fmt.Fprintf(w, "end to end, %d changes, %d clients, 1 worker\t%.0f changes/s (%d succeeded, %d failed; submit %.0f req/s)\t>= %.0f/s\t%s\n",
		e.N, rep.cfg.clients, e.Rate(), e.States["succeeded"], e.States["failed"], e.Submit.Rate(), targetE2ERate,
		verdict(e.Rate() >= targetE2ERate && e.States["succeeded"] == e.N))
	fmt.Fprintf(w, "    steady state\t%.0f changes/s between the 10th and 90th percentile; first terminal event after %.0f ms\t\t\n",
		e.SteadyRate, benchrun.Ms(e.FirstTerminal))
	fmt.Fprintf(w, "    CPU per change\t%s%s\t\t\n", cpuLine(e.CPU, e.N), noise(e.CPU, e.Elapsed))
	ep := rep.e2ePaced
	fmt.Fprintf(w, "end to end at %.0f/s, open loop, %d changes\t202 -> terminal event: p50 %.2f ms, p99 %.2f ms, max %.2f ms\t\t\n",
		ep.Rate, ep.Result.Done, benchrun.Ms(ep.Event.P50), benchrun.Ms(ep.Event.P99), benchrun.Ms(ep.Event.Max))
	if ep.Poll.N > 0 {
		fmt.Fprintf(w, "  each followed by GET ?wait=30s\t202 -> long-poll answer: p50 %.2f ms, p99 %.2f ms, max %.2f ms\t\t\n",
			benchrun.Ms(ep.Poll.P50), benchrun.Ms(ep.Poll.P99), benchrun.Ms(ep.Poll.Max))
	}
	fmt.Fprintf(w, "    CPU per change\t%s%s\t\t\n", cpuLine(ep.Result.CPU, ep.Result.Done), noise(ep.Result.CPU, ep.Result.Elapsed))
	fmt.Fprintf(w, "  outcome\t%d succeeded, %d failed\t\t\n", ep.States["succeeded"], ep.States["failed"])
	fmt.Fprintf(w, "peak resident memory (VmHWM)\t\t\t\n")
	for _, name := range []string{"api", "worker", "nats-server", "ccloudsim"} {
		m, ok := rep.memory[name]
		if !ok {
			continue
		}
		target, v := "", ""
		if name == "api" || name == "worker" {
			target, v = "< 64 MiB", verdict(m.HWM < targetMemory)
		}
		fmt.Fprintf(w, "  %s\t%.1f MiB (RSS at end %.1f MiB)\t%s\t%s\n", name, benchrun.MiB(m.HWM), benchrun.MiB(m.RSS), target, v)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
}
