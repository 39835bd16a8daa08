package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/bench/benchrun"
)

// stack is one Patchbay deployment made of real processes on 127.0.0.1:
// one nats-server or a cluster of them, an api, and workers. The goodput and
// cluster scenarios start several, one after another or side by side; each
// lives in its own directory (NATS data and process logs).
type stack struct {
	name   string
	dir    string
	cfg    config
	cancel context.CancelCauseFunc // ends the run when a process dies unexpectedly

	children []*child // in start order
	nats     []*child
	api      *child
	workers  []*child
	metrics  []string // /metrics URLs of the running workers
	started  int      // workers ever started (names worker-1, worker-2, ...)

	replicas int
	natsURL  string // comma-separated, every node
	apiURL   string
	nc       *nats.Conn // the driver's connection
	js       jetstream.JetStream
}

func newStack(name, parent string, cfg config, cancel context.CancelCauseFunc) (*stack, error) {
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &stack{name: name, dir: dir, cfg: cfg, cancel: cancel}, nil
}

func (s *stack) start(name, path string, args, env []string) (*child, error) {
	c, err := startChild(name, path, args, env, s.dir, func(err error) { s.cancel(fmt.Errorf("%s: %w", s.name, err)) })
	if err != nil {
		return nil, err
	}
	s.children = append(s.children, c)
	return c, nil
}

// natsArgs are the command lines of a nodes-node JetStream deployment on
// the given client and route ports (routes unused for a single node).
func natsArgs(dir, cluster string, ports, routes []int) [][]string {
	out := make([][]string, len(ports))
	for i, p := range ports {
		name := cluster + "-n" + strconv.Itoa(i+1)
		args := []string{"-js", "-sd", filepath.Join(dir, name), "-a", "127.0.0.1", "-p", strconv.Itoa(p), "-n", name}
		if len(ports) > 1 {
			var peers []string
			for j, r := range routes {
				if j != i {
					peers = append(peers, "nats://127.0.0.1:"+strconv.Itoa(r))
				}
			}
			args = append(args, "--cluster_name", cluster, "--cluster", "nats://127.0.0.1:"+strconv.Itoa(routes[i]),
				"--routes", strings.Join(peers, ","))
		}
		out[i] = args
	}
	return out
}

// startNATS starts nodes nats-server processes (a JetStream cluster with
// routes between them when nodes > 1) and waits until JetStream answers,
// i.e. the cluster has elected a meta leader.
func (s *stack) startNATS(ctx context.Context, nodes int) error {
	ports, err := freePorts(2 * nodes)
	if err != nil {
		return err
	}
	clientPorts, routePorts := ports[:nodes], ports[nodes:]
	var urls []string
	for i, args := range natsArgs(s.dir, s.name, clientPorts, routePorts) {
		name := "nats-server"
		if nodes > 1 {
			name = "nats-" + strconv.Itoa(i+1)
		}
		c, err := s.start(name, s.cfg.natsServer, args, nil)
		if err != nil {
			return err
		}
		s.nats = append(s.nats, c)
		urls = append(urls, "nats://127.0.0.1:"+strconv.Itoa(clientPorts[i]))
	}
	s.natsURL = strings.Join(urls, ",")
	s.replicas = 1
	if nodes >= 3 {
		s.replicas = 3
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if s.nc == nil {
			nc, err := nats.Connect(s.natsURL, nats.Name("patchbay-bench"), nats.Timeout(time.Second), nats.MaxReconnects(-1))
			if err == nil {
				s.nc = nc
				if s.js, err = jetstream.New(nc); err != nil {
					return err
				}
			}
		}
		if s.js != nil {
			actx, acancel := context.WithTimeout(wctx, time.Second)
			_, err := s.js.AccountInfo(actx)
			acancel()
			if err == nil {
				return nil
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("%s: JetStream on %s not ready: %w", s.name, s.natsURL, context.Cause(wctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *stack) natsEnv() []string {
	return []string{"NATS_URL=" + s.natsURL, "NATS_REPLICAS=" + strconv.Itoa(s.replicas)}
}

// startAPI starts cmd/api and waits for /readyz (streams and buckets present).
func (s *stack) startAPI(ctx context.Context) error {
	addrs, err := freeAddrs(2)
	if err != nil {
		return err
	}
	s.api, err = s.start("api", s.cfg.api, nil, append(s.natsEnv(),
		"HTTP_ADDR="+addrs[0], "METRICS_ADDR="+addrs[1], "API_TOKENS=bench="+benchToken, "LOG_LEVEL=warn",
		// One caller sends all the load: its own intake limit would
		// measure the limiter, not the intake.
		"INTAKE_RATE_LIMIT=0"))
	if err != nil {
		return err
	}
	s.apiURL = "http://" + addrs[0]
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return benchrun.Ready(rctx, http.DefaultClient, s.apiURL+"/readyz")
}

// startWorkers starts n cmd/worker processes against the upstream at simURL
// and waits until each serves /metrics (set up, about to consume).
func (s *stack) startWorkers(ctx context.Context, n int, simURL string, env ...string) error {
	for range n {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		s.started++
		name := "worker-" + strconv.Itoa(s.started)
		c, err := s.start(name, s.cfg.worker, nil, append(append(s.natsEnv(),
			"METRICS_ADDR="+addr, "CCLOUD_API_URL="+simURL, "CCLOUD_API_KEY="+simKey, "CCLOUD_API_SECRET="+simSecret),
			env...))
		if err != nil {
			return err
		}
		s.workers = append(s.workers, c)
		s.metrics = append(s.metrics, "http://"+addr+"/metrics")
	}
	for _, url := range s.metrics[len(s.metrics)-n:] {
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err := benchrun.Ready(rctx, http.DefaultClient, url)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// scrapeWorkers reads every running worker's /metrics.
func (s *stack) scrapeWorkers(ctx context.Context) ([]map[string]float64, error) {
	var out []map[string]float64
	for _, url := range s.metrics {
		m, err := benchrun.Scrape(ctx, http.DefaultClient, url)
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// stopWorkers stops the workers (the rest keeps running).
func (s *stack) stopWorkers() error {
	var errs []error
	for i := len(s.workers) - 1; i >= 0; i-- {
		if err := s.workers[i].stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	s.workers, s.metrics = nil, nil
	return errors.Join(errs...)
}

// stop stops every process in reverse start order (workers, api, NATS).
func (s *stack) stop() error {
	if s.nc != nil {
		s.nc.Close()
	}
	var errs []error
	for i := len(s.children) - 1; i >= 0; i-- {
		if err := s.children[i].stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	s.children, s.workers, s.metrics = nil, nil, nil
	return errors.Join(errs...)
}

// cpu returns the CPU time used so far by the stack's processes, summed by
// role (nats-server, api, worker), and by the driver.
func (s *stack) cpu() map[string]time.Duration {
	out := map[string]time.Duration{"driver": benchrun.SelfCPU()}
	for _, c := range s.children {
		d, err := benchrun.ReadCPU(c.pid())
		if err != nil {
			continue // exited
		}
		out[role(c.name)] += d
	}
	return out
}

// memory returns the largest VmHWM per role among the running processes.
func (s *stack) memory() map[string]benchrun.Memory {
	out := map[string]benchrun.Memory{}
	for _, c := range s.children {
		m, err := benchrun.ReadMemory(c.pid())
		if err != nil {
			continue
		}
		if r := role(c.name); m.HWM > out[r].HWM {
			out[r] = m
		}
	}
	return out
}

// role maps a process name (nats-2, worker-3) to its role.
func role(name string) string {
	switch {
	case strings.HasPrefix(name, "nats"):
		return "nats-server"
	case strings.HasPrefix(name, "worker"):
		return "worker"
	}
	return name
}

func freePorts(n int) ([]int, error) {
	addrs, err := freeAddrs(n)
	if err != nil {
		return nil, err
	}
	ports := make([]int, n)
	for i, a := range addrs {
		_, p, _ := net.SplitHostPort(a)
		ports[i], _ = strconv.Atoi(p)
	}
	return ports, nil
}

// freeAddrs returns n distinct free 127.0.0.1 addresses (all listeners are
// held until every port is chosen, so they differ).
func freeAddrs(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}
