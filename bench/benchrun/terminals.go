package benchrun

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patchbay/patchbay/internal/events"
)

// Terminal is when (on the watcher's clock) the first terminal event of a
// change arrived, and its state.
type Terminal struct {
	At    time.Time
	State string
}

// Terminals watches result events with a core NATS subscription and
// remembers, per change id, the first terminal event.
type Terminals struct {
	sub     *nats.Subscription
	mu      sync.Mutex
	seen    map[string]Terminal
	waiting map[string]chan struct{}
}

// WatchTerminals subscribes to patchbay.events.change.> on nc. Stop it with Close.
func WatchTerminals(nc *nats.Conn) (*Terminals, error) {
	t := &Terminals{seen: map[string]Terminal{}, waiting: map[string]chan struct{}{}}
	sub, err := nc.Subscribe(events.SubjectPrefix+"*", t.receive)
	if err != nil {
		return nil, err
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	t.sub = sub
	return t, nil
}

func (t *Terminals) receive(m *nats.Msg) {
	at := time.Now()
	var ev struct {
		Data struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"data"`
	}
	if json.Unmarshal(m.Data, &ev) != nil || (ev.Data.State != "succeeded" && ev.Data.State != "failed") {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.seen[ev.Data.ID]; dup {
		return
	}
	t.seen[ev.Data.ID] = Terminal{At: at, State: ev.Data.State}
	if ch, ok := t.waiting[ev.Data.ID]; ok {
		close(ch)
		delete(t.waiting, ev.Data.ID)
	}
}

// Wait returns the change's terminal event, waiting for it until ctx ends.
func (t *Terminals) Wait(ctx context.Context, id string) (Terminal, error) {
	t.mu.Lock()
	if term, ok := t.seen[id]; ok {
		t.mu.Unlock()
		return term, nil
	}
	ch, ok := t.waiting[id]
	if !ok {
		ch = make(chan struct{})
		t.waiting[id] = ch
	}
	t.mu.Unlock()
	select {
	case <-ch:
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.seen[id], nil
	case <-ctx.Done():
		return Terminal{}, errors.New("no terminal event for " + id + ": " + ctx.Err().Error())
	}
}

// WaitAll waits for the terminal event of every id and returns the arrival
// times (in the order of ids) and how many ended in each state.
func (t *Terminals) WaitAll(ctx context.Context, ids []string) (at []time.Time, states map[string]int, err error) {
	states = map[string]int{}
	at = make([]time.Time, 0, len(ids))
	for _, id := range ids {
		term, err := t.Wait(ctx, id)
		if err != nil {
			return at, states, err
		}
		states[term.State]++
		at = append(at, term.At)
	}
	return at, states, nil
}

// Close unsubscribes.
func (t *Terminals) Close() { _ = t.sub.Unsubscribe() }

// Seen returns the change's terminal event if it has arrived, without waiting.
func (t *Terminals) Seen(id string) (Terminal, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	term, ok := t.seen[id]
	return term, ok
}
