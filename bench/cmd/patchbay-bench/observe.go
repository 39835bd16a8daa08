package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/topology"
)

// recordWatch keeps every value each change record took (a KV watch
// started before the load), for the invariants of the worker scenario.
type recordWatch struct {
	mu   sync.Mutex
	recs map[string][]change.Record
	stop func()
}

func watchRecords(ctx context.Context, js jetstream.JetStream) (*recordWatch, error) {
	kv, err := js.KeyValue(ctx, topology.RecordsBucket)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := kv.WatchAll(wctx, jetstream.IgnoreDeletes())
	if err != nil {
		cancel()
		return nil, err
	}
	rw := &recordWatch{recs: map[string][]change.Record{}, stop: cancel}
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
			rw.mu.Lock()
			rw.recs[r.ID] = append(rw.recs[r.ID], r)
			rw.mu.Unlock()
		}
	}()
	return rw, nil
}

// latest returns the last value of each record.
func (rw *recordWatch) latest(ids []string) map[string]change.Record {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	out := make(map[string]change.Record, len(ids))
	for _, id := range ids {
		if h := rw.recs[id]; len(h) > 0 {
			out[id] = h[len(h)-1]
		}
	}
	return out
}

// waitTerminal waits until every change's record is terminal.
func (rw *recordWatch) waitTerminal(ctx context.Context, ids []string, within time.Duration) (map[string]change.Record, error) {
	deadline := time.Now().Add(within)
	for {
		last := rw.latest(ids)
		missing := 0
		for _, id := range ids {
			if r, ok := last[id]; !ok || !r.State.Terminal() {
				missing++
			}
		}
		if missing == 0 {
			return last, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return last, fmt.Errorf("%d of %d changes not terminal within %s", missing, len(ids), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leftTerminal counts records that left a terminal state within their
// generation.
func (rw *recordWatch) leftTerminal() int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	n := 0
	for _, h := range rw.recs {
		for i := 1; i < len(h); i++ {
			if h[i].Generation == h[i-1].Generation && h[i-1].State.Terminal() && h[i].State != h[i-1].State {
				n++
			}
		}
	}
	return n
}

// eventCheck is what the events stream says about a set of changes.
type eventCheck struct {
	// notOne counts changes without exactly one terminal event.
	notOne int
	// afterTerminal counts events published after their change's terminal event.
	afterTerminal int
}

func checkEvents(ctx context.Context, js jetstream.JetStream, ids []string) (eventCheck, error) {
	var out eventCheck
	s, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		return out, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return out, err
	}
	terminal := map[string]int{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return out, fmt.Errorf("event %d: %w", seq, err)
		}
		var ev events.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			return out, err
		}
		if terminal[ev.Data.ID] > 0 {
			out.afterTerminal++
		}
		if ev.Data.State.Terminal() {
			terminal[ev.Data.ID]++
		}
	}
	for _, id := range ids {
		if terminal[id] != 1 {
			out.notOne++
		}
	}
	return out, nil
}

// latencies returns accept -> terminal for the given records, sorted.
func latencies(recs map[string]change.Record, ids []string) []time.Duration {
	var out []time.Duration
	for _, id := range ids {
		if r, ok := recs[id]; ok && r.CompletedAt != nil {
			out = append(out, r.CompletedAt.Sub(r.AcceptedAt))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p * float64(len(d)))
	if i >= len(d) {
		i = len(d) - 1
	}
	return d[i]
}
