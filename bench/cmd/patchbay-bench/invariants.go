package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/topology"
)

// recordWatch follows every change record (a KV watch on the records
// bucket, from the driver's own NATS connection) and notes any record that
// leaves a terminal state: the promise is that a terminal record never
// changes state again.
type recordWatch struct {
	w jetstream.KeyWatcher

	mu         sync.Mutex
	states     map[string]string // change id + generation -> latest state
	violations []string
}

type recordHead struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Generation int    `json:"generation"`
}

func terminalState(s string) bool { return s == "succeeded" || s == "failed" }

func watchRecords(ctx context.Context, js jetstream.JetStream) (*recordWatch, error) {
	kv, err := js.KeyValue(ctx, topology.RecordsBucket)
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	rw := &recordWatch{w: w, states: map[string]string{}}
	go func() {
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			var h recordHead
			if json.Unmarshal(e.Value(), &h) != nil {
				continue
			}
			rw.observe(h)
		}
	}()
	return rw, nil
}

func (rw *recordWatch) observe(h recordHead) {
	key := h.ID + ".g" + strconv.Itoa(h.Generation)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if prev := rw.states[key]; terminalState(prev) && prev != h.State {
		rw.violations = append(rw.violations, fmt.Sprintf("record %s went from %s to %s", key, prev, h.State))
	}
	rw.states[key] = h.State
}

// nonTerminal lists the ids (of those given) whose latest record is not terminal.
func (rw *recordWatch) nonTerminal(ids []string) []string {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	var out []string
	for _, id := range ids {
		if !terminalState(rw.states[id+".g0"]) {
			out = append(out, id+" ("+rw.states[id+".g0"]+")")
		}
	}
	return out
}

func (rw *recordWatch) stop() []string {
	_ = rw.w.Stop()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return append([]string(nil), rw.violations...)
}

// auditEvents reads the whole events stream in order and checks, per
// change and generation, exactly one terminal event and no event after it.
// It returns the violations and how many events it read.
func auditEvents(ctx context.Context, js jetstream.JetStream, ids []string) ([]string, int, error) {
	s, err := js.Stream(ctx, topology.EventsStream)
	if err != nil {
		return nil, 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, 0, err
	}
	terminals := map[string]int{}
	var out []string
	read := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted or purged
		}
		read++
		var ev struct {
			Data recordHead `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			out = append(out, fmt.Sprintf("event %d does not decode: %v", seq, err))
			continue
		}
		key := ev.Data.ID + ".g" + strconv.Itoa(ev.Data.Generation)
		if terminals[key] > 0 {
			out = append(out, fmt.Sprintf("%s: %s event after its terminal event", key, ev.Data.State))
		}
		if terminalState(ev.Data.State) {
			terminals[key]++
		}
	}
	for _, id := range ids {
		if n := terminals[id+".g0"]; n != 1 {
			out = append(out, fmt.Sprintf("%s: %d terminal events, want 1", id, n))
		}
	}
	return out, read, nil
}
