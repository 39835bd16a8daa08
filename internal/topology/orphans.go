package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Orphan reports the first stored change that the workers' consumer counts
// as acknowledged although the work-queue stream still holds it, or 0. A
// work-queue stream removes a message when it is acknowledged, so such a
// message is never delivered again: a known JetStream failure after leader
// changes (nats-server issues 4736, 7680). Its resource's later changes
// would then wait behind it for ever.
func Orphan(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, ChangesStream)
	if err != nil {
		return 0, fmt.Errorf("topology: open %s: %w", ChangesStream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("topology: %s info: %w", ChangesStream, err)
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	c, err := s.Consumer(ctx, WorkersConsumer)
	if err != nil {
		return 0, fmt.Errorf("topology: open consumer %s: %w", WorkersConsumer, err)
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("topology: consumer %s info: %w", WorkersConsumer, err)
	}
	return orphanOf(info.State.Msgs, info.State.FirstSeq, ci.AckFloor.Stream), nil
}

// orphanOf is the first stored sequence when the consumer's acknowledgement
// floor covers it (a work-queue stream would have removed it), else 0.
func orphanOf(msgs, firstSeq, ackFloor uint64) uint64 {
	if msgs > 0 && firstSeq <= ackFloor {
		return firstSeq
	}
	return 0
}

// RecreateWorkersConsumer deletes the workers' consumer and creates it again,
// so that it delivers every stored change once more. Changes being worked on
// are delivered again too; the workers' fencing (the record's owner) keeps
// that to one attempt at a time.
func RecreateWorkersConsumer(ctx context.Context, js jetstream.JetStream, t Topology) error {
	if err := js.DeleteConsumer(ctx, ChangesStream, WorkersConsumer); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("topology: delete consumer %s: %w", WorkersConsumer, err)
	}
	return ensureWorkersConsumer(ctx, js, t)
}

// SweepOrphans checks every interval for an orphaned change (see Orphan)
// and, when the same one is still there at the next check, recreates the
// workers' consumer; it runs until ctx ends. Two checks an interval apart
// keep a change whose acknowledgement is just being applied from counting.
func SweepOrphans(ctx context.Context, js jetstream.JetStream, t Topology, interval time.Duration, logger *slog.Logger) {
	var seen uint64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		seq, err := Orphan(cctx, js)
		switch {
		case err != nil:
			logger.Debug("orphan check failed", "error", err)
		case seq != 0 && seq == seen:
			logger.Warn("a stored change is counted as acknowledged by the workers' consumer; recreating the consumer so that it is delivered again", "seq", seq)
			if err := RecreateWorkersConsumer(cctx, js, t); err != nil {
				logger.Error("recreating the workers' consumer failed", "error", err)
			}
			seq = 0
		}
		cancel()
		seen = seq
	}
}
