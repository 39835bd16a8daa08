package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/internal/events"
)

// Destination delivers result events to one receiver kind (a signed
// webhook, Jira, ServiceNow, Slack). The notifier asks every destination
// whether it wants an event, and delivers to each that does, independently.
type Destination interface {
	// Name identifies the destination in metrics, logs and the delivery
	// status on the change record ("webhook", "jira", "servicenow", "slack").
	Name() string
	// Wants reports whether ev should be delivered here (the caller's
	// configuration, a ticket on the record, a stored reply target, ...).
	Wants(ctx context.Context, ev events.Event) (bool, error)
	// Deliver sends ev once; raw is the event exactly as stored (structured
	// CloudEvents JSON). nil means delivered. A *RetryableError means try
	// again later; any other error is permanent and the delivery gives up.
	Deliver(ctx context.Context, ev events.Event, raw []byte) error
}

// RetryableError is a delivery failure worth retrying. After is the wait the
// receiver asked for (Retry-After, X-RateLimit-Reset); zero means use backoff.
type RetryableError struct {
	After time.Duration
	Err   error
}

func (e *RetryableError) Error() string {
	if e.After > 0 {
		return fmt.Sprintf("retryable (after %s): %v", e.After, e.Err)
	}
	return "retryable: " + e.Err.Error()
}

func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err asks for another attempt, and after how long.
func IsRetryable(err error) (time.Duration, bool) {
	var re *RetryableError
	if errors.As(err, &re) {
		return re.After, true
	}
	return 0, false
}
