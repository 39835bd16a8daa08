package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/natsembed"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

const (
	testToken = "test-token-0123456789abcdef"
	simKey    = "sim-key"
	simSecret = "sim-secret-value-42"
)

// stack is a real Patchbay: embedded NATS (one server, or an in-process
// JetStream cluster with R3 assets), the simulator, one or more apis behind
// httptest and any number of workers.
type stack struct {
	t        testing.TB
	ns       *server.Server     // single node
	cluster  *natsembed.Cluster // nodes > 1
	storeDir string
	port     int
	sim      *ccloudsim.Server
	simURL   string
	api      *app.API
	apiURL   string   // the first api
	apiURLs  []string // every api
	natsCfg  topology.Settings
	nc       *nats.Conn
	js       jetstream.JetStream
	logs     *testkit.SyncBuffer
	quiet    bool
}

// stackOptions shape a stack; the zero value is one NATS server and one api.
type stackOptions struct {
	// nodes > 1 runs an in-process JetStream cluster with that many nodes
	// and R3 streams and buckets.
	nodes int
	// apis is how many api instances share the queue (default 1).
	apis int
	// ackWait is PATCHBAY_ACK_WAIT (default 4s: above the 2s call timeout
	// of workerConfig plus the lease margin).
	ackWait time.Duration
	sim     ccloudsim.Options
	api     []func(*app.APIConfig)
	// quiet discards the processes' logs below warn (benchmarks).
	quiet bool
}

// newStack builds a single-node stack; apiOpts adjust the api's configuration.
func newStack(t testing.TB, simOpts ccloudsim.Options, apiOpts ...func(*app.APIConfig)) *stack {
	t.Helper()
	return newStackWith(t, stackOptions{sim: simOpts, api: apiOpts})
}

// newStackWith builds the stack that opts describe.
func newStackWith(t testing.TB, opts stackOptions) *stack {
	t.Helper()
	opts.apis = max(opts.apis, 1)
	if opts.ackWait == 0 {
		opts.ackWait = 4 * time.Second
	}
	st := &stack{t: t, storeDir: t.TempDir(), logs: &testkit.SyncBuffer{}, quiet: opts.quiet}
	if dir := os.Getenv("PATCHBAY_TEST_LOG_DIR"); dir != "" {
		// Keep the processes' logs of each test, passed or failed.
		t.Cleanup(func() {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".log"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(st.logs.String()), 0o644); err != nil {
				t.Log(err)
			}
		})
	}
	var urls string
	replicas := 1
	if opts.nodes > 1 {
		cl, err := natsembed.StartCluster(opts.nodes, st.storeDir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Shutdown)
		if err := cl.WaitJetStream(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		st.cluster, urls, replicas = cl, cl.URLs(), 3
	} else {
		st.startNATS(-1)
		t.Cleanup(func() { st.ns.Shutdown() })
		urls = st.ns.ClientURL()
	}

	simOpts := opts.sim
	if simOpts.Credentials == nil {
		simOpts.Credentials = map[string]string{simKey: simSecret}
	}
	sim, srv := testkit.CCloudSim(t, simOpts)
	sim.SeedPeering(ccloudsim.Peering{ID: "p-1", DisplayName: "old", EnvironmentID: "env-1", NetworkID: "n-1",
		Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-1", "routes": []any{"10.0.0.0/16"}, "customer_region": "us-east-1"}, Phase: "READY"})
	sim.SeedIntegration(ccloudsim.Integration{ID: "i-1", DisplayName: "old", Description: "d",
		Target: map[string]any{"kind": "Slack", "webhook_url": "https://hooks.slack.com/services/T0/B0/SECRETSLACK"}})
	sim.SeedIntegration(ccloudsim.Integration{ID: "i-role", DisplayName: "role", Target: map[string]any{"kind": "RoleEmail", "role_name": "OrganizationAdmin"}})
	st.sim, st.simURL = sim, srv.URL

	st.natsCfg = topology.Settings{URL: urls, Replicas: replicas, AckWait: opts.ackWait}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	apiCfg := app.APIConfig{
		NATS: st.natsCfg, APITokens: "jira=" + testToken + ",slackbot=other-token-0123456789abcdef", MaxBodyBytes: 64 << 10,
	}
	for _, opt := range opts.api {
		opt(&apiCfg)
	}
	for range opts.apis {
		api, err := app.NewAPI(ctx, apiCfg, st.logger("api"), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(api.Close)
		hs := httptest.NewServer(api.Handler)
		t.Cleanup(hs.Close)
		if st.api == nil {
			st.api, st.apiURL = api, hs.URL
		}
		st.apiURLs = append(st.apiURLs, hs.URL)
	}

	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	st.nc = nc
	st.js, _ = jetstream.New(nc)
	return st
}

func (st *stack) logger(name string) *slog.Logger {
	if st.quiet {
		return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewJSONHandler(st.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("process", name)
}

func (st *stack) startNATS(port int) {
	st.t.Helper()
	ns, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: st.storeDir})
	if err != nil {
		st.t.Fatal(err)
	}
	st.ns = ns
	st.port = ns.Addr().(*net.TCPAddr).Port
}

// restartNATS stops the server and starts it again on the same port and store.
func (st *stack) stopNATS() { st.ns.Shutdown(); st.ns.WaitForShutdown() }

func (st *stack) restartNATS() { st.startNATS(st.port) }

// workerConfig is a worker configuration tuned for fast tests.
func (st *stack) workerConfig() app.WorkerConfig {
	cfg := app.DefaultWorkerConfig()
	cfg.NATS = st.natsCfg
	cfg.CCloud = ccloud.Settings{URL: st.simURL, APIKey: simKey, APISecret: simSecret, Timeout: 2 * time.Second}
	cfg.Retry = retry.Settings{MaxErrorAttempts: 5, MaxAge: time.Minute, MaxRateLimitWait: 10 * time.Second, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	cfg.ShutdownGrace = 5 * time.Second
	return cfg
}

// runningWorker is a worker started by a test.
type runningWorker struct {
	w      *app.Worker
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
}

// stop drains the worker gracefully.
func (rw *runningWorker) stop() error {
	rw.cancel()
	<-rw.done
	rw.w.Close()
	return rw.err
}

// kill simulates a crash: the NATS connection goes away at once, nothing is
// acked or handed back.
func (rw *runningWorker) kill() {
	rw.w.Close()
	rw.cancel()
	<-rw.done
}

func (st *stack) startWorker(cfg app.WorkerConfig) *runningWorker {
	st.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, cfg, st.logger("worker"), prometheus.NewRegistry())
	if err != nil {
		cancel()
		st.t.Fatal(err)
	}
	rw := &runningWorker{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rw.done)
		rw.err = w.Run(ctx)
	}()
	st.t.Cleanup(func() {
		rw.cancel()
		<-rw.done
		w.Close()
	})
	return rw
}

// do sends a request to the api.
func (st *stack) do(method, path, token, contentType string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	st.t.Helper()
	req, err := http.NewRequest(method, st.apiURL+path, bytes.NewReader(body))
	if err != nil {
		st.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// submit PATCHes a change and returns its record, failing unless 202.
func (st *stack) submit(path, body string, hdr map[string]string) change.Record {
	st.t.Helper()
	resp, data := st.do(http.MethodPatch, path, testToken, "application/json", []byte(body), hdr)
	if resp.StatusCode != http.StatusAccepted {
		st.t.Fatalf("PATCH %s: %d %s", path, resp.StatusCode, data)
	}
	var rec change.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		st.t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/changes/"+rec.ID {
		st.t.Fatalf("Location %q for %s", loc, rec.ID)
	}
	return rec
}

// waitTerminal long-polls the api until the change is terminal and its
// terminal event marked on the record.
func (st *stack) waitTerminal(id string, within time.Duration) change.Record {
	st.t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, data := st.do(http.MethodGet, "/v1/changes/"+id+"?wait=5s", testToken, "", nil, nil)
		if resp.StatusCode == http.StatusOK {
			var rec change.Record
			if err := json.Unmarshal(data, &rec); err != nil {
				st.t.Fatal(err)
			}
			// Settled: terminal and its terminal event marked (the worker's
			// last write), so a test's next write (an operator retry) does
			// not race it.
			if rec.State.Terminal() && rec.TerminalEvent != "" {
				return rec
			}
		}
		if time.Now().After(deadline) {
			st.t.Fatalf("change %s not terminal within %s: %d %s", id, within, resp.StatusCode, data)
		}
	}
}

// terminalEvents reads every terminal event in the events stream, by change id.
func (st *stack) terminalEvents() map[string][]events.Event {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, info := st.stream(ctx, topology.EventsStream)
	out := map[string][]events.Event{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			st.t.Fatalf("event %d: %v", seq, err)
		}
		if m.Subject != events.Subject(change.StateSucceeded) && m.Subject != events.Subject(change.StateFailed) {
			continue
		}
		if ct := m.Header.Get("Content-Type"); ct != events.ContentType {
			st.t.Fatalf("event content type %q", ct)
		}
		var ev events.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			st.t.Fatalf("event is not JSON: %v", err)
		}
		out[ev.Data.ID] = append(out[ev.Data.ID], ev)
	}
	return out
}

// stream returns a stream and its current info.
func (st *stack) stream(ctx context.Context, name string) (jetstream.Stream, *jetstream.StreamInfo) {
	st.t.Helper()
	s, err := st.js.Stream(ctx, name)
	if err != nil {
		st.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		st.t.Fatal(err)
	}
	return s, info
}

// queued is the number of changes waiting in the work queue.
func (st *stack) queued() uint64 {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, info := st.stream(ctx, topology.ChangesStream)
	return info.State.Msgs
}

func itoa(n int) string { return strconv.Itoa(n) }

// waitEvents polls the events stream until every id has at least n terminal
// events (the event follows the terminal record, after a crash by up to AckWait).
func (st *stack) waitEvents(ids []string, n int, within time.Duration) map[string][]events.Event {
	st.t.Helper()
	var evs map[string][]events.Event
	testkit.Eventually(st.t, within, "terminal events", func() (bool, string) {
		evs = st.terminalEvents()
		for _, id := range ids {
			if len(evs[id]) < n {
				return false, "none for " + id
			}
		}
		return true, ""
	})
	return evs
}
