package topology

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/metrics"
)

// QueueStatsSource returns a metrics.QueueSource that reads the change
// stream and the workers' consumer from JetStream: one stream info and one
// consumer info request per call. The consumer label is "workers", the one
// consumer every worker shares (the former lane consumers part-N are gone).
func QueueStatsSource(js jetstream.JetStream) metrics.QueueSource {
	return func(ctx context.Context) (metrics.QueueStats, error) {
		s, err := js.Stream(ctx, ChangesStream)
		if err != nil {
			return metrics.QueueStats{}, fmt.Errorf("topology: queue stats: %w", err)
		}
		info := s.CachedInfo()
		st := metrics.QueueStats{Changes: info.State.Msgs}
		if info.State.Msgs > 0 {
			st.Oldest = info.State.FirstTime
		}
		c, err := s.Consumer(ctx, WorkersConsumer)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return st, nil
		}
		if err != nil {
			return metrics.QueueStats{}, fmt.Errorf("topology: queue stats: consumer: %w", err)
		}
		ci := c.CachedInfo()
		st.Lanes = append(st.Lanes, metrics.LaneStats{Consumer: ci.Name, Pending: ci.NumPending, InFlight: ci.NumAckPending})
		return st, nil
	}
}
