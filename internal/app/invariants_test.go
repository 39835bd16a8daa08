package app_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/topology"
)

// recordHistory watches every change record from the start of a test and
// keeps each value a record took, in order.
type recordHistory struct {
	mu   sync.Mutex
	recs map[string][]change.Record
}

func (st *stack) watchRecords() *recordHistory {
	st.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st.t.Cleanup(cancel)
	kv, err := st.js.KeyValue(ctx, topology.RecordsBucket)
	if err != nil {
		st.t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		st.t.Fatal(err)
	}
	h := &recordHistory{recs: map[string][]change.Record{}}
	go func() {
		defer func() { _ = w.Stop() }()
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			var r change.Record
			if json.Unmarshal(e.Value(), &r) != nil {
				continue
			}
			h.mu.Lock()
			h.recs[r.ID] = append(h.recs[r.ID], r)
			h.mu.Unlock()
		}
	}()
	return h
}

// check fails the test if a record left a terminal state within its
// generation, or went back to an older generation.
func (h *recordHistory) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, rs := range h.recs {
		for i := 1; i < len(rs); i++ {
			prev, cur := rs[i-1], rs[i]
			if cur.Generation < prev.Generation {
				t.Errorf("%s went back from generation %d to %d", id, prev.Generation, cur.Generation)
			}
			if cur.Generation == prev.Generation && prev.State.Terminal() && cur.State != prev.State {
				t.Errorf("%s left terminal state %s for %s (generation %d)", id, prev.State, cur.State, cur.Generation)
			}
			if len(cur.Attempts) < len(prev.Attempts) {
				t.Errorf("%s lost attempts: %d -> %d", id, len(prev.Attempts), len(cur.Attempts))
			}
		}
	}
}

// checkEvents reads the whole events stream in order and fails the test
// unless every change in ids has exactly one terminal event per generation
// and no event follows it.
func (st *stack) checkEvents(t *testing.T, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, info := st.stream(ctx, topology.EventsStream)
	type key struct {
		id  string
		gen int
	}
	terminal := map[key]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		var ev events.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("event %d: %v", seq, err)
		}
		k := key{ev.Data.ID, ev.Data.Generation}
		if terminal[k] > 0 {
			t.Errorf("%s generation %d: %s event after its terminal event", k.id, k.gen, ev.Data.State)
		}
		if ev.Data.State.Terminal() {
			terminal[k]++
		}
	}
	for _, id := range ids {
		if n := terminal[key{id, 0}]; n != 1 {
			t.Errorf("%s: %d terminal events, want 1", id, n)
		}
	}
}

// checkNoOverlap fails the test if two PATCHes to one resource were in
// flight at the simulator at once.
func (st *stack) checkNoOverlap(t *testing.T) {
	t.Helper()
	for _, o := range st.sim.Overlaps() {
		t.Errorf("overlapping PATCHes to %s: %s..%s and %s..%s", o.Path,
			o.First.Start.Format("15:04:05.000"), o.First.End.Format("15:04:05.000"),
			o.Second.Start.Format("15:04:05.000"), o.Second.End.Format("15:04:05.000"))
	}
}

// checkOrder fails the test unless, for every resource, the successful
// PATCHes applied the display names in want[path] in that order (a change
// re-run after a takeover may repeat its own name, never an earlier one).
func (st *stack) checkOrder(t *testing.T, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, r := range st.sim.Requests() {
		if r.Status != 200 {
			continue
		}
		var body struct {
			Spec struct {
				DisplayName string `json:"display_name"`
			} `json:"spec"`
		}
		_ = json.Unmarshal(r.Body, &body)
		got[r.Path] = append(got[r.Path], body.Spec.DisplayName)
	}
	for path, names := range want {
		i := 0
		for _, n := range got[path] {
			switch {
			case i < len(names) && n == names[i]:
				i++
			case i > 0 && n == names[i-1]: // the same change applied again after a takeover
			default:
				t.Errorf("%s: applied %q out of order (next expected %d of %v; got %v)", path, n, i, names, got[path])
				return
			}
		}
		if i != len(names) {
			t.Errorf("%s: applied %v, want %v", path, got[path], names)
		}
	}
}
