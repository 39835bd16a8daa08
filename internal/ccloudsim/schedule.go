package ccloudsim

import (
	"fmt"
	"time"
)

// RateStep is one change of a rate-limit schedule: from At after the first
// authenticated request, the limit is Limit requests per RatePeriod.
type RateStep struct {
	At    time.Duration
	Limit int
}

// validateSchedule checks that steps are in order and limits positive.
func validateSchedule(steps []RateStep) error {
	for i, st := range steps {
		switch {
		case st.At < 0:
			return fmt.Errorf("%w: RateSchedule[%d].At %s is negative", ErrInvalidOptions, i, st.At)
		case st.Limit < 1:
			return fmt.Errorf("%w: RateSchedule[%d].Limit %d must be at least 1", ErrInvalidOptions, i, st.Limit)
		case i > 0 && st.At <= steps[i-1].At:
			return fmt.Errorf("%w: RateSchedule[%d].At %s is not after the step before", ErrInvalidOptions, i, st.At)
		}
	}
	return nil
}

// limitLocked is the limit in force at now, starting the schedule's clock
// at the first call; s.mu must be held.
func (s *Server) limitLocked(now time.Time) int {
	if len(s.opts.RateSchedule) == 0 || s.limit <= 0 {
		return s.limit
	}
	if s.scheduleStart.IsZero() {
		s.scheduleStart = now
	}
	return limitAt(s.limit, s.opts.RateSchedule, now.Sub(s.scheduleStart))
}

// limitAt is the limit at elapsed into the schedule, base before its first step.
func limitAt(base int, steps []RateStep, elapsed time.Duration) int {
	limit := base
	for _, st := range steps {
		if elapsed < st.At {
			break
		}
		limit = st.Limit
	}
	return limit
}

// Allowed is how many requests the limit in force allowed between from and
// to (the integral of limit / RatePeriod over the interval, following the
// schedule): the most any client could have had accepted. 0 when the
// simulator is unlimited.
func (s *Server) Allowed(from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit <= 0 || !to.After(from) {
		return 0
	}
	perSecond := func(limit int) float64 { return float64(limit) / s.period.Seconds() }
	if len(s.opts.RateSchedule) == 0 || s.scheduleStart.IsZero() {
		return perSecond(s.limit) * to.Sub(from).Seconds()
	}
	// Walk the pieces of the schedule that overlap [from, to).
	total := 0.0
	bounds := []time.Time{from}
	for _, st := range s.opts.RateSchedule {
		if at := s.scheduleStart.Add(st.At); at.After(from) && at.Before(to) {
			bounds = append(bounds, at)
		}
	}
	bounds = append(bounds, to)
	for i := 0; i+1 < len(bounds); i++ {
		limit := limitAt(s.limit, s.opts.RateSchedule, bounds[i].Sub(s.scheduleStart))
		total += perSecond(limit) * bounds[i+1].Sub(bounds[i]).Seconds()
	}
	return total
}
