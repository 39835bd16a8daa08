package topology

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureWorkersConsumer deletes the former lane consumers (part-N, one per
// partition with MaxAckPending=1), then creates or updates the one consumer
// all workers share. The lane consumers must go first: a work-queue stream
// refuses overlapping consumer filters. Their queued messages stay in the
// stream, in place, and the new consumer delivers them (its filter covers
// every lane); the worker's head check keeps each resource in order across
// old and new lanes.
func ensureWorkersConsumer(ctx context.Context, js jetstream.JetStream, t Topology) error {
	s, err := js.Stream(ctx, ChangesStream)
	if err != nil {
		return fmt.Errorf("topology: open %s: %w", ChangesStream, err)
	}
	names := s.ConsumerNames(ctx)
	var legacy []string
	for n := range names.Name() {
		if strings.HasPrefix(n, legacyConsumerPrefix) {
			legacy = append(legacy, n)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("topology: list consumers of %s: %w", ChangesStream, err)
	}
	for _, n := range legacy {
		if err := s.DeleteConsumer(ctx, n); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("topology: delete former lane consumer %s: %w", n, err)
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:       WorkersConsumer,
		Description:   "Patchbay workers: every queued change; per-resource order is kept by the worker's head check",
		FilterSubject: QueueFilter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxAckPending: t.MaxAckPending,
		// Naks count toward MaxDeliver; the worker owns the retry budget.
		MaxDeliver: -1,
		// No BackOff: it would lengthen every NakWithDelay.
		MaxWaiting: 512,
		Replicas:   t.Replicas,
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, ChangesStream, cfg); err != nil {
		return fmt.Errorf("topology: ensure consumer %s: %w", cfg.Durable, err)
	}
	return nil
}
