package topology

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/metrics"
)

// QueueStatsSource returns a metrics.QueueSource that reads the change
// stream and its lane consumers from JetStream: one stream info and one
// consumer list request per call. Only the topology's lane consumers
// (part-0 .. part-<partitions-1>) are reported, so the consumer label stays
// bounded whatever else an operator creates on the stream.
func QueueStatsSource(js jetstream.JetStream, partitions int) metrics.QueueSource {
	lanes := make(map[string]bool, partitions)
	for p := 0; p < partitions; p++ {
		lanes[ConsumerName(p)] = true
	}
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
		list := s.ListConsumers(ctx)
		for ci := range list.Info() {
			if ci == nil || !lanes[ci.Name] {
				continue
			}
			st.Lanes = append(st.Lanes, metrics.LaneStats{Consumer: ci.Name, Pending: ci.NumPending, InFlight: ci.NumAckPending})
		}
		if err := list.Err(); err != nil {
			return metrics.QueueStats{}, fmt.Errorf("topology: queue stats: list consumers: %w", err)
		}
		return st, nil
	}
}
