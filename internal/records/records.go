// Package records stores change records (and the request bodies an operator
// retry needs) in JetStream KV buckets, with compare-and-swap updates and
// watches for long-polls.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/internal/topology"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
)

// Errors the record store returns for callers to decide on.
var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("records: change not found")
	// ErrExists: a record with that id already exists.
	ErrExists = errors.New("records: change already exists")
	// ErrConflict: the record changed since it was read (compare-and-swap lost).
	ErrConflict = errors.New("records: change record was modified concurrently")
)

// Records stores change records in a JetStream KV bucket, one key per change,
// and beside them (in a bucket never served) the request bodies of failed
// changes, which an operator retry needs and which may hold secrets.
type Records struct {
	nc       *nats.Conn
	kv       jetstream.KeyValue
	payloads jetstream.KeyValue
	// apiTimeout bounds a request to the JetStream API made on nc
	// directly (the jetstream package bounds its own the same way).
	apiTimeout time.Duration
}

// defaultAPITimeout is the jetstream package's default request timeout.
const defaultAPITimeout = 5 * time.Second

// NewRecords opens the records bucket (which Ensure must have created).
func NewRecords(ctx context.Context, js jetstream.JetStream) (*Records, error) {
	kv, err := js.KeyValue(ctx, topology.RecordsBucket)
	if err != nil {
		return nil, fmt.Errorf("records: open %s: %w", topology.RecordsBucket, err)
	}
	payloads, err := js.KeyValue(ctx, topology.PayloadsBucket)
	if err != nil {
		return nil, fmt.Errorf("records: open %s: %w", topology.PayloadsBucket, err)
	}
	return &Records{nc: js.Conn(), kv: kv, payloads: payloads, apiTimeout: defaultAPITimeout}, nil
}

// SavePayload keeps the request body of a change that is about to fail.
func (r *Records) SavePayload(ctx context.Context, id string, body []byte) error {
	if _, err := r.payloads.Put(ctx, id, body); err != nil {
		return fmt.Errorf("records: save payload %s: %w", id, err)
	}
	return nil
}

// Payload returns the saved request body of a failed change.
func (r *Records) Payload(ctx context.Context, id string) ([]byte, error) {
	e, err := r.payloads.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: payload %s: %w", id, err)
	}
	return e.Value(), nil
}

// Get returns a record and its revision.
func (r *Records) Get(ctx context.Context, id string) (change.Record, uint64, error) {
	if !change.ValidID(id) {
		return change.Record{}, 0, ErrNotFound
	}
	var data []byte
	var rev uint64
	e, err := r.kv.Get(ctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		// A replica may not have the newest write yet: ask the leader.
		var found bool
		if data, rev, found, err = r.leaderGet(ctx, id); err != nil {
			return change.Record{}, 0, err
		}
		if !found {
			return change.Record{}, 0, ErrNotFound
		}
	case err != nil:
		return change.Record{}, 0, fmt.Errorf("records: get record %s: %w", id, err)
	default:
		data, rev = e.Value(), e.Revision()
	}
	rec, err := decodeRecord(data)
	if err != nil {
		return change.Record{}, 0, fmt.Errorf("records: record %s: %w", id, err)
	}
	return rec, rev, nil
}

// Create stores a new record; ErrExists if one is already there.
func (r *Records) Create(ctx context.Context, rec change.Record) (uint64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("records: encode record: %w", err)
	}
	rev, err := r.kv.Create(ctx, rec.ID, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, ErrExists
	}
	if err != nil {
		return 0, fmt.Errorf("records: create record %s: %w", rec.ID, err)
	}
	return rev, nil
}

// Update replaces the record if it is still at revision rev; ErrConflict otherwise.
func (r *Records) Update(ctx context.Context, rec change.Record, rev uint64) (uint64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("records: encode record: %w", err)
	}
	next, err := r.kv.Update(ctx, rec.ID, data, rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, ErrConflict
		}
		return 0, fmt.Errorf("records: update record %s: %w", rec.ID, err)
	}
	return next, nil
}

// Watch returns the updates of one record, starting with its current value;
// the channel closes when ctx ends. Values that do not decode are skipped.
func (r *Records) Watch(ctx context.Context, id string) (<-chan change.Record, error) {
	if !change.ValidID(id) {
		return nil, ErrNotFound
	}
	w, err := r.kv.Watch(ctx, id, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("records: watch %s: %w", id, err)
	}
	out := make(chan change.Record, 1)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // end of the initial values
					continue
				}
				rec, err := decodeRecord(e.Value())
				if err != nil {
					continue
				}
				select {
				case out <- rec:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// WaitTerminal returns the record once it is terminal, or its latest value
// when ctx ends first (with ctx's error).
func (r *Records) WaitTerminal(ctx context.Context, id string) (change.Record, error) {
	rec, _, err := r.Get(ctx, id)
	if err != nil {
		return change.Record{}, err
	}
	if rec.State.Terminal() {
		return rec, nil
	}
	updates, err := r.Watch(ctx, id)
	if err != nil {
		return rec, err
	}
	for u := range updates {
		rec = u
		if rec.State.Terminal() {
			return rec, nil
		}
	}
	return rec, ctx.Err()
}

func decodeRecord(data []byte) (change.Record, error) {
	var rec change.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return change.Record{}, fmt.Errorf("decode record: %w", err)
	}
	return rec, nil
}
