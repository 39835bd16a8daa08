package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/metrics"
	"github.com/patchbay/patchbay/internal/records"
	"github.com/patchbay/patchbay/internal/retry"
	"github.com/patchbay/patchbay/internal/topology"
)

// fakeDelivery records what the worker did with a delivery.
type fakeDelivery struct {
	data      []byte
	seq, dc   uint64
	heartbeat func(ctx context.Context) error

	mu                sync.Mutex
	acks, terms, naks int
	nakDelay          time.Duration
}

func (d *fakeDelivery) Data() []byte         { return d.data }
func (d *fakeDelivery) Header(string) string { return "" }
func (d *fakeDelivery) Seq() uint64          { return d.seq }
func (d *fakeDelivery) NumDelivered() uint64 { return d.dc }
func (d *fakeDelivery) Heartbeat(ctx context.Context) error {
	if d.heartbeat != nil {
		return d.heartbeat(ctx)
	}
	return nil
}
func (d *fakeDelivery) Ack(context.Context) error { d.mu.Lock(); d.acks++; d.mu.Unlock(); return nil }
func (d *fakeDelivery) Term() error               { d.mu.Lock(); d.terms++; d.mu.Unlock(); return nil }
func (d *fakeDelivery) Nak(delay time.Duration) error {
	d.mu.Lock()
	d.naks++
	d.nakDelay = delay
	d.mu.Unlock()
	return nil
}

func (d *fakeDelivery) settled() (acks, naks, terms int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.acks, d.naks, d.terms
}

// fakeHeads answers Head from a map of resource id to head sequence and data.
type fakeHeads struct {
	mu    sync.Mutex
	heads map[string]uint64
	data  map[string][]byte
}

func (h *fakeHeads) Head(_ context.Context, r change.Resource) (uint64, []byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, ok := h.heads[r.ID]
	if !ok {
		return 0, nil, topology.ErrNoHead
	}
	return seq, h.data[r.ID], nil
}

// fakeStore is an in-memory record store with revisions. beforeUpdate, if
// set, runs before every Update (under no lock) to interleave other writers.
type fakeStore struct {
	mu           sync.Mutex
	recs         map[string]change.Record
	revs         map[string]uint64
	writes       int
	beforeUpdate func(s *fakeStore, rec change.Record)
	// hangGet makes Get wait for its context, as a request whose answer
	// never comes.
	hangGet bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{recs: map[string]change.Record{}, revs: map[string]uint64{}}
}

func (s *fakeStore) Get(ctx context.Context, id string) (change.Record, uint64, error) {
	if s.hangGet {
		<-ctx.Done()
		return change.Record{}, 0, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return change.Record{}, 0, records.ErrNotFound
	}
	return clone(r), s.revs[id], nil
}

func (s *fakeStore) Create(_ context.Context, rec change.Record) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[rec.ID]; ok {
		return 0, records.ErrExists
	}
	s.recs[rec.ID] = clone(rec)
	s.revs[rec.ID]++
	return s.revs[rec.ID], nil
}

func (s *fakeStore) Update(_ context.Context, rec change.Record, rev uint64) (uint64, error) {
	if f := s.beforeUpdate; f != nil {
		f(s, rec)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revs[rec.ID] != rev {
		return 0, records.ErrConflict
	}
	s.recs[rec.ID] = clone(rec)
	s.revs[rec.ID]++
	s.writes++
	return s.revs[rec.ID], nil
}

// put replaces a record as another writer would.
func (s *fakeStore) put(rec change.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[rec.ID] = clone(rec)
	s.revs[rec.ID]++
}

func (s *fakeStore) SavePayload(context.Context, string, []byte) error { return nil }

func clone(r change.Record) change.Record {
	data, _ := json.Marshal(r)
	var c change.Record
	_ = json.Unmarshal(data, &c)
	return c
}

// fakeEvents records published events.
type fakeEvents struct {
	mu  sync.Mutex
	got []change.Record
}

func (e *fakeEvents) Publish(_ context.Context, rec change.Record, _ string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, clone(rec))
	return nil
}

func (e *fakeEvents) states() []change.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []change.State
	for _, r := range e.got {
		out = append(out, r.State)
	}
	return out
}

// fakeUpstream answers every call with do.
type fakeUpstream struct {
	mu    sync.Mutex
	calls int
	do    func(ctx context.Context) (*ccloud.Response, error)
}

func (u *fakeUpstream) Do(ctx context.Context, _ ccloud.Operation, _ string, _ []byte) (*ccloud.Response, error) {
	u.mu.Lock()
	u.calls++
	u.mu.Unlock()
	if u.do != nil {
		return u.do(ctx)
	}
	return &ccloud.Response{Status: 200, Body: []byte(`{}`)}, nil
}

func (u *fakeUpstream) CredentialID() string { return "cred" }

func (u *fakeUpstream) count() int { u.mu.Lock(); defer u.mu.Unlock(); return u.calls }

// openGate always lets a call through at once.
type openGate struct{}

func (openGate) Reserve(context.Context, string) (gate.Decision, error) {
	return gate.Decision{Reserved: true, SendAt: time.Now()}, nil
}
func (openGate) Blocked(string) time.Time { return time.Time{} }
func (openGate) Observe(context.Context, string, int, ccloud.RateLimit, time.Duration) error {
	return nil
}

// bundle is a worker with fakes around it.
type bundle struct {
	w      *Worker
	store  *fakeStore
	heads  *fakeHeads
	events *fakeEvents
	up     *fakeUpstream
}

func newBundle(t *testing.T, ackWait, callTimeout time.Duration) *bundle {
	t.Helper()
	m, err := metrics.NewWorker(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{store: newFakeStore(), heads: &fakeHeads{heads: map[string]uint64{}, data: map[string][]byte{}},
		events: &fakeEvents{}, up: &fakeUpstream{}}
	w, err := New(Config{AckWait: ackWait, CallTimeout: callTimeout, Concurrency: 4,
		Policy: retry.Policy{MaxErrorAttempts: 3, MaxAge: time.Hour, MaxRateLimitWait: time.Minute, DefaultRateLimitWait: time.Second,
			Backoff: func(int) time.Duration { return 5 * time.Second }},
	}, Deps{Source: noSource{}, Heads: b.heads, Records: b.store, Events: b.events, Upstream: b.up, Gate: openGate{},
		Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	b.w = w
	return b
}

type noSource struct{}

func (noSource) Fetch(context.Context, int, time.Duration, func(Delivery)) error {
	return errors.New("no source in unit tests")
}

var msgTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// queue makes message m (at stream sequence seq) the head of its resource
// when head is true, and returns a first delivery of it.
func (b *bundle) message(id, resource string, seq uint64, gen int) (change.Message, *fakeDelivery) {
	m := change.Message{ID: id, Operation: string(ccloud.UpdatePeering), Body: []byte(`{}`), AcceptedAt: msgTime, Generation: gen,
		Resource: change.Resource{Kind: "Peering", ID: resource, Path: "/networking/v1/peerings/" + resource}}
	data, _ := json.Marshal(m)
	return m, &fakeDelivery{data: data, seq: seq, dc: 1}
}

func (b *bundle) setHead(resource string, seq uint64, data []byte) {
	b.heads.mu.Lock()
	defer b.heads.mu.Unlock()
	b.heads.heads[resource], b.heads.data[resource] = seq, data
}

func (b *bundle) handle(d *fakeDelivery) {
	ctx := context.Background()
	b.w.handle(ctx, ctx, d, time.Now())
}

func newBundleTestPolicy() retry.Policy {
	return retry.Policy{MaxErrorAttempts: 1, MaxAge: time.Hour, MaxRateLimitWait: time.Minute, Backoff: func(int) time.Duration { return time.Second }}
}
