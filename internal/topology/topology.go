// Package topology declares Patchbay's JetStream assets (the change and
// events streams, the workers' consumer and the KV buckets), migrates a
// stream built with the former fixed lanes, finds the head of a resource's
// queue, connects to NATS and reports queue statistics.
package topology

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"time"

	"github.com/patchbay/patchbay/internal/change"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// Names of the JetStream assets. They are part of the operational contract.
const (
	ChangesStream     = "PATCHBAY_CHANGES"
	EventsStream      = "PATCHBAY_EVENTS"
	RecordsBucket     = "patchbay_changes"
	IdempotencyBucket = "patchbay_idempotency"
	PayloadsBucket    = "patchbay_payloads"
	DeliveriesBucket  = "patchbay_deliveries"
	// SlackRepliesBucket keeps where a Slack command's result goes (its
	// response_url, a secret), keyed by change id; never served.
	SlackRepliesBucket = "patchbay_slack_replies"
	// ResourcesBucket holds, per resource (key "<kind>.<id>"), the change
	// accepted (or re-queued) last, for the operator retry's stale check.
	ResourcesBucket = "patchbay_resources"
	// NotifyStream is the notifier's work queue, one message per result
	// event and destination.
	NotifyStream = notifyqueue.Stream
	// NotificationsBucket keeps each change's delivery status.
	NotificationsBucket = notifyqueue.Bucket

	// changeSubjectPrefix is where the intake publishes: patchbay.changes.<kind>.<id>.
	changeSubjectPrefix = "patchbay.changes."
	// queueSubjectPrefix is where the stream stores them after the subject
	// transform: patchbay.queue.<lane>.<kind>.<id>. The lane token is the
	// constant QueueLane since the fixed lanes were retired; messages queued
	// before that keep their old lane (0..N-1) until consumed.
	queueSubjectPrefix = "patchbay.queue."

	// QueueLane is the lane token of every change queued by this version.
	QueueLane = "0"
	// WorkersConsumer is the one durable pull consumer every worker shares.
	WorkersConsumer = "workers"
	// legacyConsumerPrefix names the former lane consumers (part-0..part-N),
	// deleted by Ensure.
	legacyConsumerPrefix = "part-"
)

// ChangesDuplicateWindow is how long the change stream remembers a
// Nats-Msg-Id: a second publish of the same change generation within it is
// dropped. The intake never relies on it alone (see queue.Queue.Enqueue).
const ChangesDuplicateWindow = 2 * time.Minute

// Topology sizes and ages the JetStream assets.
type Topology struct {
	// Replicas of every stream and bucket (3 on a cluster).
	Replicas int
	// AckWait is how long a worker may hold a change without a heartbeat.
	AckWait time.Duration
	// MaxAckPending bounds the changes delivered and not yet acknowledged
	// across the fleet, including those handed back with a delay (a change
	// waiting for its retry, or waiting behind its resource's head).
	MaxAckPending int
	// RecordTTL is how long a change record is kept after its last update.
	RecordTTL time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered (>= 24h).
	IdempotencyTTL time.Duration
	// DeliveryTTL is how long a signed webhook's delivery id is remembered
	// to refuse a replay (GitHub lets a delivery be redelivered for 3 days).
	DeliveryTTL time.Duration
	// EventsMaxAge is how long result events are kept.
	EventsMaxAge time.Duration
	// EventsDuplicateWindow is the de-duplication window of the events stream.
	EventsDuplicateWindow time.Duration
}

// DefaultTopology returns production defaults.
func DefaultTopology() Topology {
	return Topology{
		Replicas:              1,
		AckWait:               60 * time.Second,
		MaxAckPending:         10000,
		RecordTTL:             7 * 24 * time.Hour,
		IdempotencyTTL:        48 * time.Hour,
		DeliveryTTL:           72 * time.Hour,
		EventsMaxAge:          7 * 24 * time.Hour,
		EventsDuplicateWindow: 10 * time.Minute,
	}
}

// ErrTopology reports an invalid topology.
var ErrTopology = errors.New("topology: invalid topology")

// Validate checks the topology.
func (t Topology) Validate() error {
	switch {
	case t.Replicas < 1 || t.Replicas > 5:
		return fmt.Errorf("%w: replicas %d not in 1..5", ErrTopology, t.Replicas)
	case t.MaxAckPending < 1:
		return fmt.Errorf("%w: max ack pending %d below 1", ErrTopology, t.MaxAckPending)
	case t.AckWait < time.Second:
		return fmt.Errorf("%w: ack wait %s below 1s", ErrTopology, t.AckWait)
	case t.IdempotencyTTL < 24*time.Hour:
		return fmt.Errorf("%w: idempotency TTL %s below 24h", ErrTopology, t.IdempotencyTTL)
	case t.DeliveryTTL < time.Hour:
		return fmt.Errorf("%w: delivery TTL %s below 1h", ErrTopology, t.DeliveryTTL)
	}
	return nil
}

// QueueFilter is the workers' consumer filter: every stored change, in any lane.
const QueueFilter = queueSubjectPrefix + ">"

// HeadSubject is the subject filter matching every queued change of r,
// whatever lane it was stored in: patchbay.queue.*.<kind>.<id>. Stream order
// on it is acceptance order. The workers find a resource's head with it and
// the intake looks for a change it may already have stored.
func HeadSubject(r change.Resource) string {
	return queueSubjectPrefix + "*." + strings.ToLower(r.Kind) + "." + r.ID
}

// Ensure creates or updates every stream, consumer and bucket. It is
// idempotent and safe to run from many processes at once.
func Ensure(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	changes := jetstream.StreamConfig{
		Name:        ChangesStream,
		Description: "Patchbay accepted changes, one subject per resource",
		Subjects:    []string{changeSubjectPrefix + "*.*"},
		SubjectTransform: &jetstream.SubjectTransformConfig{
			Source:      changeSubjectPrefix + "*.*",
			Destination: queueSubjectPrefix + QueueLane + ".{{wildcard(1)}}.{{wildcard(2)}}",
		},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Replicas:   t.Replicas,
		Duplicates: ChangesDuplicateWindow,
		Discard:    jetstream.DiscardNew,
	}
	if err := ensureStream(ctx, js, changes); err != nil {
		return err
	}
	events := jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "Patchbay CloudEvents result events",
		Subjects:    []string{events.StreamSubjects},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		MaxAge:      t.EventsMaxAge,
		Duplicates:  t.EventsDuplicateWindow,
	}
	if err := ensureStream(ctx, js, events); err != nil {
		return err
	}
	notify := jetstream.StreamConfig{
		Name:        NotifyStream,
		Description: "Patchbay outbound notifications to deliver, one per result event and destination",
		Subjects:    []string{notifyqueue.StreamSubjects},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    t.Replicas,
		MaxAge:      t.EventsMaxAge,
		Duplicates:  t.EventsDuplicateWindow,
	}
	if err := ensureStream(ctx, js, notify); err != nil {
		return err
	}
	if err := ensureWorkersConsumer(ctx, js, t); err != nil {
		return err
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: RecordsBucket, Description: "Patchbay change records", History: 1, TTL: t.RecordTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: PayloadsBucket, Description: "Patchbay request bodies of failed changes (for retry)", History: 1, TTL: t.RecordTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: gate.Bucket, Description: "Patchbay fleet-wide rate-limit gate, one key per upstream credential", History: 1, TTL: 24 * time.Hour, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: IdempotencyBucket, Description: "Patchbay Idempotency-Key memory", History: 1, TTL: t.IdempotencyTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: ResourcesBucket, Description: "Patchbay latest accepted change per resource", History: 1, TTL: t.RecordTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: DeliveriesBucket, Description: "Patchbay signed webhook delivery ids (replay protection)", History: 1, TTL: t.DeliveryTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		// As long as the records: a result that comes days later still finds
		// its reply target (and goes to the fallback webhook).
		{Bucket: SlackRepliesBucket, Description: "Patchbay Slack reply targets (response_url) by change id", History: 1, TTL: t.RecordTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
		{Bucket: NotificationsBucket, Description: "Patchbay outbound notification status per change", History: 1, TTL: t.RecordTTL, Replicas: t.Replicas, Storage: jetstream.FileStorage},
	}
	for _, b := range buckets {
		if _, err := js.CreateOrUpdateKeyValue(ctx, b); err != nil {
			return fmt.Errorf("topology: ensure bucket %s: %w", b.Bucket, err)
		}
	}
	return nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("topology: ensure stream %s: %w", cfg.Name, err)
	}
	return nil
}

// CheckPresent reports an error unless the streams and buckets exist; it is
// what readiness probes call.
func CheckPresent(ctx context.Context, js jetstream.JetStream) error {
	for _, s := range []string{ChangesStream, EventsStream, NotifyStream} {
		if _, err := js.Stream(ctx, s); err != nil {
			return fmt.Errorf("topology: stream %s: %w", s, err)
		}
	}
	for _, b := range []string{RecordsBucket, PayloadsBucket, IdempotencyBucket, ResourcesBucket, DeliveriesBucket, SlackRepliesBucket, NotificationsBucket, gate.Bucket} {
		if _, err := js.KeyValue(ctx, b); err != nil {
			return fmt.Errorf("topology: bucket %s: %w", b, err)
		}
	}
	return nil
}

// ChangeSubject is the subject a change to r is published on.
func ChangeSubject(r change.Resource) string {
	return changeSubjectPrefix + strings.ToLower(r.Kind) + "." + r.ID
}

// ResourceKey is r's key in ResourcesBucket.
func ResourceKey(r change.Resource) string { return strings.ToLower(r.Kind) + "." + r.ID }
