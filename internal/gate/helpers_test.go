package gate_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/testkit"
)

// fleet is a real NATS server with Patchbay's topology; each gate gets its
// own connection, as each worker process has.
type fleet struct {
	t   *testing.T
	url string
	ctx context.Context
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	s, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &fleet{t: t, url: s.ClientURL(), ctx: ctx}
}

// gate starts a watching gate with its own connection and clock.
func (f *fleet) gate(cfg gate.Config, now func() time.Time) *gate.Gate {
	f.t.Helper()
	g, _ := f.gateConn(cfg, now)
	return g
}

// gateConn is gate, also returning the gate's NATS connection.
func (f *fleet) gateConn(cfg gate.Config, now func() time.Time) (*gate.Gate, *nats.Conn) {
	f.t.Helper()
	nc, err := nats.Connect(f.url)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		f.t.Fatal(err)
	}
	g, err := gate.New(f.ctx, js, cfg, now)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := g.Watch(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return g, nc
}

// worker sends changes through a gate the way internal/worker does: reserve,
// wait for the slot by its own clock, check for a Retry-After seen
// elsewhere meanwhile, send, tell the gate.
type worker struct {
	g   *gate.Gate
	up  *ccloud.Client
	now func() time.Time
}

func newWorker(t *testing.T, g *gate.Gate, simURL string, cfg ccloud.Config, now func() time.Time) *worker {
	t.Helper()
	cfg.BaseURL, cfg.Now, cfg.Timeout = simURL, now, 5*time.Second
	up, err := ccloud.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &worker{g: g, up: up, now: now}
}

// sleepUntil sleeps until t by the worker's clock.
func (w *worker) sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(t.Sub(w.now()))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// send applies one change and returns the upstream's answer.
func (w *worker) send(ctx context.Context, n int) (*ccloud.Response, error) {
	cred := w.up.CredentialID()
	for {
		d, err := w.g.Reserve(ctx, cred)
		if err != nil {
			return nil, err
		}
		if !d.Reserved {
			if err := w.sleepUntil(ctx, d.RetryAt); err != nil {
				return nil, err
			}
			continue
		}
		if err := w.sleepUntil(ctx, d.SendAt); err != nil {
			return nil, err
		}
		if blocked := w.g.Blocked(cred); !blocked.IsZero() {
			if err := w.sleepUntil(ctx, blocked); err != nil {
				return nil, err
			}
			continue
		}
		body := []byte(`{"spec":{"display_name":"gate-` + strconv.Itoa(n) + `","environment":{"id":"` + ccloudsim.DemoEnvironment + `"}}}`)
		resp, err := w.up.Do(ctx, ccloud.UpdatePeering, "p-demo1", body)
		if resp == nil {
			return nil, err
		}
		if err := w.g.Observe(ctx, cred, resp.Status, resp.RateLimit, time.Second); err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// exhaust spends the rest of the credential's window directly (another
// client of the same credential), so the next request through a gate gets
// a 429.
func exhaust(t *testing.T, simURL, key, secret string) {
	t.Helper()
	for range 100 {
		req, _ := http.NewRequest(http.MethodPatch, simURL+"/networking/v1/peerings/p-demo1",
			strings.NewReader(`{"spec":{"display_name":"other","environment":{"id":"`+ccloudsim.DemoEnvironment+`"}}}`))
		req.SetBasicAuth(key, secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return
		}
	}
	t.Fatal("the simulator's window never ran out")
}

// first429 returns the first 429 in the simulator's log.
func first429(t *testing.T, sim *ccloudsim.Server) ccloudsim.Request {
	t.Helper()
	for _, r := range sim.Requests() {
		if r.Status == http.StatusTooManyRequests {
			return r
		}
	}
	t.Fatal("no 429 reached the simulator")
	return ccloudsim.Request{}
}
