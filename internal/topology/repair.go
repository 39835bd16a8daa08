package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrStepDown reports that JetStream refused to move the workers'
// consumer's leadership (a single server has no other leader to elect).
var ErrStepDown = errors.New("topology: consumer leader step-down refused")

// StepDownWorkersConsumer asks the leader of the workers' consumer to step
// down. The new leader rebuilds its pending and redelivery state from the
// replicated consumer state; a message the old leader held as delivered but
// never redelivered (nats-server's in-memory state after leader changes) is
// redelivered once its ack wait has passed. Delivery counts carry on, so no
// worker's owner token goes backwards.
func StepDownWorkersConsumer(ctx context.Context, js jetstream.JetStream) error {
	subj := fmt.Sprintf("$JS.API.CONSUMER.LEADER.STEPDOWN.%s.%s", ChangesStream, WorkersConsumer)
	msg, err := js.Conn().RequestWithContext(ctx, subj, nil)
	if err != nil {
		return fmt.Errorf("topology: step down consumer %s: %w", WorkersConsumer, err)
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("topology: step down consumer %s: %w", WorkersConsumer, err)
	}
	if resp.Error != nil || !resp.Success {
		desc := "no success"
		if resp.Error != nil {
			desc = resp.Error.Description
		}
		return fmt.Errorf("%w: %s", ErrStepDown, desc)
	}
	return nil
}

// HeadRepair gets a stuck change delivered again when a worker reports one
// (a resource's first queued change that has not moved for several leases
// while later changes of the resource are delivered). It first moves the
// consumer's leadership (StepDownWorkersConsumer), which keeps every
// delivery count; if the same change is reported again, or the step-down
// is refused, it recreates the consumer (RecreateWorkersConsumer), which
// delivers every stored change again, counting from 1 (the workers'
// fencing waits for a running attempt whatever its owner token).
// Repairs are at most one per interval; reports meanwhile are dropped.
type HeadRepair struct {
	js       jetstream.JetStream
	topo     Topology
	logger   *slog.Logger
	now      func() time.Time
	interval time.Duration
	reports  chan uint64

	// Run's own state (one goroutine).
	last    time.Time
	stepped uint64
}

// NewHeadRepair returns a repair for the queue of topo, at most one per
// interval (two leases is a good choice).
func NewHeadRepair(js jetstream.JetStream, topo Topology, interval time.Duration, logger *slog.Logger, now func() time.Time) (*HeadRepair, error) {
	if js == nil || logger == nil || now == nil || interval <= 0 {
		return nil, errors.New("topology: NewHeadRepair: nil dependency or no interval")
	}
	return &HeadRepair{js: js, topo: topo, logger: logger, now: now, interval: interval, reports: make(chan uint64, 1)}, nil
}

// Report asks for a repair of the stuck change at stream sequence seq. It
// returns at once; Run does the work.
func (r *HeadRepair) Report(seq uint64) {
	select {
	case r.reports <- seq:
	default: // a repair is pending already
	}
}

// Run repairs reported changes until ctx ends.
func (r *HeadRepair) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case seq := <-r.reports:
			r.repair(ctx, seq)
		}
	}
}

// repair runs one repair for seq unless one ran within the interval.
func (r *HeadRepair) repair(ctx context.Context, seq uint64) {
	now := r.now()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		return
	}
	r.last = now
	again := r.stepped == seq
	r.stepped = seq
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if !again {
		err := StepDownWorkersConsumer(cctx, r.js)
		if err == nil {
			r.logger.Warn("a stuck change was reported; moved the workers' consumer to a new leader so that it is delivered again", "seq", seq)
			return
		}
		r.logger.Warn("moving the workers' consumer to a new leader failed", "seq", seq, "error", err)
	}
	r.stepped = 0
	r.logger.Warn("a stuck change was reported; recreating the workers' consumer so that every stored change is delivered again", "seq", seq, "reported_again", again)
	if err := RecreateWorkersConsumer(cctx, r.js, r.topo); err != nil {
		r.logger.Error("recreating the workers' consumer failed", "seq", seq, "error", err)
	}
}
