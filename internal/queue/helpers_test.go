package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/testkit/faultproxy"
	"github.com/patchbay/patchbay/internal/topology"
)

// publishPattern is what the api sends to publish a change: the proxy
// pauses on it so that the publish is stored and its acknowledgement late.
const publishPattern = "PUB patchbay.changes."

// env is a queue whose NATS connection runs through a fault proxy, and a
// direct connection to the same server for assertions.
type env struct {
	direct  *nats.Conn
	js      jetstream.JetStream // direct, for assertions
	records *records.Records    // direct
	proxy   *faultproxy.Proxy
	nc      *nats.Conn // the queue's, through the proxy
	q       *Queue
	clock   *clocktest.Clock

	mu   sync.Mutex
	pubs map[string]int // publishes seen on the change subjects, by Nats-Msg-Id
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, direct, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	e := &env{direct: direct, js: js, pubs: map[string]int{}}
	// Every publish to a change subject, stored or not, reaches this
	// subscription: it counts what the api sent.
	if _, err := direct.Subscribe("patchbay.changes.>", func(m *nats.Msg) {
		e.mu.Lock()
		e.pubs[m.Header.Get(jetstream.MsgIDHeader)]++
		e.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := direct.Flush(); err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(strings.TrimPrefix(srv.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, apiJS, err := topology.Connect(proxy.URL(), "queue-test", logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	t.Cleanup(proxy.Resume) // runs first: nothing stays held at the end
	testkit.Eventually(t, 5*time.Second, "api connected", func() (bool, string) { return nc.IsConnected(), nc.Status().String() })
	ctx := testCtx(t)
	apiRecords, err := records.NewRecords(ctx, apiJS)
	if err != nil {
		t.Fatal(err)
	}
	directRecords, err := records.NewRecords(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	q, err := New(ctx, Deps{JS: apiJS, Records: apiRecords, Logger: logger, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.records, e.proxy, e.nc, e.q, e.clock = directRecords, proxy, nc, q, clock
	return e
}

// published is how many publishes of each change generation the server
// received so far (a flush orders it after everything acknowledged).
func (e *env) published(t *testing.T) map[string]int {
	t.Helper()
	if err := e.direct.Flush(); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.pubs)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var peering1 = change.Resource{Kind: "Peering", ID: "p-1", Path: "/networking/v1/peerings/p-1"}

// request is a peering change from caller jira.
func request(key, body string) Request {
	return Request{
		Operation: "networking.v1.peerings.update", Resource: peering1,
		Body: json.RawMessage(body), RequestedBy: "jira", IdempotencyKey: key,
	}
}

const body1 = `{"spec":{"display_name":"one","environment":{"id":"env-1"}}}`

// stored is every change message in the stream, counted by change id and
// generation ("<id>.g<n>"), read directly (not through the proxy) and
// without the queue's own lookup.
func (e *env) stored(t *testing.T) map[string]int {
	t.Helper()
	ctx := testCtx(t)
	st, err := e.js.Stream(ctx, topology.ChangesStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var msg change.Message
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			t.Fatal(err)
		}
		out[change.MsgID(msg.ID, msg.Generation)]++
	}
	return out
}

// waitStored waits until the stream holds want messages in all.
func (e *env) waitStored(t *testing.T, want int) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("%d messages stored", want), func() (bool, string) {
		got := e.stored(t)
		n := 0
		for _, c := range got {
			n += c
		}
		return n == want, fmt.Sprint(got)
	})
}

// lateAck arms the proxy to hold the acknowledgement of the next change
// publish, and returns a context that gives up soon.
func (e *env) lateAck(t *testing.T) context.Context {
	t.Helper()
	e.proxy.PauseOn(publishPattern)
	// Long enough for the steps before the publish on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// resume releases held bytes and waits until the connection answers again.
func (e *env) resume(t *testing.T) {
	t.Helper()
	e.proxy.Resume()
	testkit.Eventually(t, 5*time.Second, "api connection answers", func() (bool, string) {
		err := e.nc.FlushTimeout(time.Second)
		return err == nil, fmt.Sprint(err)
	})
}

// record reads a record directly; found false when there is none.
func (e *env) record(t *testing.T, id string) (change.Record, bool) {
	t.Helper()
	rec, _, err := e.records.Get(testCtx(t), id)
	if errors.Is(err, records.ErrNotFound) {
		return change.Record{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec, true
}

// keyEntry reads what an Idempotency-Key of jira remembers.
func (e *env) keyEntry(t *testing.T, key string) idemEntry {
	t.Helper()
	kv, err := e.js.KeyValue(testCtx(t), topology.IdempotencyBucket)
	if err != nil {
		t.Fatal(err)
	}
	v, err := kv.Get(testCtx(t), idempotencyKVKey("jira", key))
	if err != nil {
		t.Fatalf("idempotency key %q: %v", key, err)
	}
	var entry idemEntry
	if err := json.Unmarshal(v.Value(), &entry); err != nil {
		t.Fatal(err)
	}
	return entry
}

// consume takes the first message of the stream as a worker would, after
// fn moved its record (nil: leave the record alone) or onMsg handled it,
// and acknowledges it.
func (e *env) consume(t *testing.T, fn func(rec *change.Record), onMsg func(change.Message)) change.Message {
	t.Helper()
	ctx := testCtx(t)
	cons, err := e.js.Consumer(ctx, topology.ChangesStream, topology.WorkersConsumer)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msg change.Message
	if err := json.Unmarshal(m.Data(), &msg); err != nil {
		t.Fatal(err)
	}
	if onMsg != nil {
		onMsg(msg)
	}
	if fn != nil {
		rec, rev, err := e.records.Get(ctx, msg.ID)
		if err != nil {
			t.Fatal(err)
		}
		fn(&rec)
		if _, err := e.records.Update(ctx, rec, rev); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	return msg
}

// fail makes a record failed as a worker would, keeping its body.
func (e *env) fail(t *testing.T, id string, body string) change.Record {
	t.Helper()
	ctx := testCtx(t)
	rec, rev, err := e.records.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	done := e.clock.Now()
	rec.State, rec.CompletedAt = change.StateFailed, &done
	if err := e.records.SavePayload(ctx, id, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.records.Update(ctx, rec, rev); err != nil {
		t.Fatal(err)
	}
	return rec
}
