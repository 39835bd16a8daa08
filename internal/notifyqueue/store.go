package notifyqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors callers decide on.
var (
	// ErrNothingToRedeliver: the change has no given-up delivery.
	ErrNothingToRedeliver = errors.New("notifyqueue: no given-up delivery to redeliver")
	// errConflict: the status changed since it was read.
	errConflict = errors.New("notifyqueue: status modified concurrently")
)

// Store is the work queue and the delivery status.
type Store struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	now func() time.Time
	// enqueue is Enqueue; a test looks at the status when Redeliver queues.
	enqueue func(ctx context.Context, it Item, msgID string) error
}

// New opens the status bucket (which topology.Ensure creates); now is the clock.
func New(ctx context.Context, js jetstream.JetStream, now func() time.Time) (*Store, error) {
	if js == nil || now == nil {
		return nil, errors.New("notifyqueue: nil dependency")
	}
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("notifyqueue: open %s: %w", Bucket, err)
	}
	s := &Store{js: js, kv: kv, now: now}
	s.enqueue = s.Enqueue
	return s, nil
}

// Enqueue persists a delivery to do. msgID de-duplicates a republish (after
// a crash of the fan-out, or a repeated redelivery request).
func (s *Store) Enqueue(ctx context.Context, it Item, msgID string) error {
	data, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("notifyqueue: encode: %w", err)
	}
	msg := nats.NewMsg(Subject(it.Destination))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("notifyqueue: enqueue %s for %s: %w", it.EventID, it.Destination, err)
	}
	return nil
}

// EnqueueID is the de-duplication id of the first enqueue of a delivery.
func EnqueueID(eventID, destination string) string { return eventID + "." + destination }

// Deliveries returns the delivery status of a change (none: empty).
func (s *Store) Deliveries(ctx context.Context, changeID string) ([]Delivery, error) {
	d, _, err := s.get(ctx, changeID)
	if err != nil {
		return nil, err
	}
	return d.Deliveries, nil
}

// Record sets the status of one delivery after an attempt (it counts the
// attempt: st.Attempts is ignored; see Wait for a status without one). With park, the item is kept for a
// redelivery (a given-up delivery); any other state drops a parked item.
// It returns the attempts so far.
func (s *Store) Record(ctx context.Context, changeID string, st Delivery, park *Item) (int, error) {
	err := s.update(ctx, changeID, func(d *doc) bool {
		i := d.find(st.Destination, st.EventID)
		if i < 0 {
			st.Attempts = 1
			d.Deliveries = append(d.Deliveries, st)
		} else {
			st.Attempts = d.Deliveries[i].Attempts + 1
			st.Redeliveries = d.Deliveries[i].Redeliveries
			d.Deliveries[i] = st
		}
		d.unpark(st.Destination, st.EventID)
		if park != nil {
			d.Parked = append(d.Parked, *park)
		}
		return true
	})
	return st.Attempts, err
}

// Attempts returns the attempts of a delivery in its current round (since
// it was first queued or last redelivered); 0 if none.
func (s *Store) Attempts(ctx context.Context, changeID, destination, eventID string) (int, error) {
	d, _, err := s.get(ctx, changeID)
	if err != nil {
		return 0, err
	}
	if i := d.find(destination, eventID); i >= 0 {
		return d.Deliveries[i].Attempts, nil
	}
	return 0, nil
}

// Wait marks a delivery retrying at next without counting an attempt (it
// waits for its destination's rate limit, nothing was sent).
func (s *Store) Wait(ctx context.Context, changeID, destination, eventID string, next time.Time) error {
	return s.update(ctx, changeID, func(d *doc) bool {
		i := d.find(destination, eventID)
		if i < 0 {
			d.Deliveries = append(d.Deliveries, Delivery{Destination: destination, EventID: eventID})
			i = len(d.Deliveries) - 1
		}
		del := &d.Deliveries[i]
		next := next.UTC()
		del.State, del.NextAttemptAt, del.UpdatedAt = Retrying, &next, s.now().UTC()
		return true
	})
}

// Redeliver queues every given-up delivery of a change again and returns
// the resulting status. It first records the new round (retrying, the
// attempts budget and the age start again), then queues the parked items,
// then notes them as queued: the notifier may take an item the moment it is
// queued, and must find its round already recorded. The items stay parked
// until the notifier's first attempt of the round, so a request whose
// queueing failed can be repeated: it queues the same round again, under
// the same de-duplication id. With nothing given up and nothing left to
// queue it returns ErrNothingToRedeliver.
func (s *Store) Redeliver(ctx context.Context, changeID string) ([]Delivery, error) {
	type redelivery struct {
		it    Item
		msgID string
	}
	var queue []redelivery
	var status []Delivery
	err := s.update(ctx, changeID, func(d *doc) bool {
		queue = queue[:0]
		now := s.now().UTC()
		changed := false
		for p := range d.Parked {
			it := &d.Parked[p]
			i := d.find(it.Destination, it.EventID)
			if i < 0 {
				continue
			}
			del := &d.Deliveries[i]
			switch {
			case del.State == GivenUp:
				del.Redeliveries++
				del.State, del.NextAttemptAt, del.UpdatedAt, del.Attempts = Retrying, &now, now, 0
				it.EnqueuedAt = now
				changed = true
			case del.State != Retrying: // delivered meanwhile
				continue
			}
			msgID := EnqueueID(it.EventID, it.Destination) + ".r" + strconv.Itoa(del.Redeliveries)
			if !d.queued(msgID) {
				queue = append(queue, redelivery{*it, msgID})
			}
		}
		status = d.Deliveries
		return changed
	})
	if err != nil {
		return nil, err
	}
	if len(queue) == 0 {
		return status, ErrNothingToRedeliver
	}
	for _, r := range queue {
		if err := s.enqueue(ctx, r.it, r.msgID); err != nil {
			return nil, err
		}
	}
	// Best effort: without the note a repeated request queues the same
	// round again, which the stream de-duplicates.
	_ = s.update(ctx, changeID, func(d *doc) bool {
		noted := false
		for _, r := range queue {
			parked := slices.ContainsFunc(d.Parked, func(p Item) bool { return p.Destination == r.it.Destination && p.EventID == r.it.EventID })
			if parked && !d.queued(r.msgID) {
				d.Queued = append(d.Queued, r.msgID)
				noted = true
			}
		}
		return noted
	})
	return status, nil
}

// update applies f with compare-and-swap, retrying on conflicts.
func (s *Store) update(ctx context.Context, changeID string, f func(*doc) bool) error {
	for range 32 {
		d, rev, err := s.get(ctx, changeID)
		if err != nil {
			return err
		}
		if !f(&d) {
			return nil
		}
		err = s.put(ctx, changeID, d, rev)
		if !errors.Is(err, errConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errConflict
}

func (s *Store) get(ctx context.Context, changeID string) (doc, uint64, error) {
	e, err := s.kv.Get(ctx, changeID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return doc{Deliveries: []Delivery{}}, 0, nil
	}
	if err != nil {
		return doc{}, 0, fmt.Errorf("notifyqueue: get %s: %w", changeID, err)
	}
	var d doc
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return doc{}, 0, fmt.Errorf("notifyqueue: decode %s: %w", changeID, err)
	}
	if d.Deliveries == nil {
		d.Deliveries = []Delivery{}
	}
	return d, e.Revision(), nil
}

func (s *Store) put(ctx context.Context, changeID string, d doc, rev uint64) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("notifyqueue: encode %s: %w", changeID, err)
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, changeID, data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return errConflict
		}
	} else {
		_, err = s.kv.Update(ctx, changeID, data, rev)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return errConflict
		}
	}
	if err != nil {
		return fmt.Errorf("notifyqueue: put %s: %w", changeID, err)
	}
	return nil
}
