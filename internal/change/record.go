// Package change defines a change request as Patchbay stores and reports it:
// the change record of DESIGN.md, its states, and the message that carries a
// change through the JetStream work queue.
package change

import (
	"encoding/json"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
)

// State is where a change is in its life.
type State string

// The states of a change. Succeeded and Failed are terminal.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateRetrying  State = "retrying"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
)

// Terminal reports whether s is a final state.
func (s State) Terminal() bool { return s == StateSucceeded || s == StateFailed }

// Resource identifies the upstream object a change applies to.
type Resource struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Path string `json:"path"`
}

// AttemptError is the short error of one attempt.
type AttemptError struct {
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Attempt is one call (or try) against the upstream.
type Attempt struct {
	Number            int           `json:"number"`
	StartedAt         time.Time     `json:"started_at"`
	Status            int           `json:"status,omitempty"`
	UpstreamRequestID string        `json:"upstream_request_id,omitempty"`
	RetryAfter        string        `json:"retry_after,omitempty"`
	Error             *AttemptError `json:"error,omitempty"`
	// Generation is the record generation the attempt belongs to.
	Generation int `json:"generation,omitempty"`
}

// Record is the change record served by GET /v1/changes/{id} and carried as
// the data of every result event. It never holds a secret.
type Record struct {
	ID          string   `json:"id"`
	State       State    `json:"state"`
	Operation   string   `json:"operation"`
	Resource    Resource `json:"resource"`
	RequestedBy string   `json:"requested_by"`
	// ClientAddress is the IP address the change was requested from (the
	// TCP peer, or the client named by a trusted proxy's X-Forwarded-For).
	ClientAddress string `json:"client_address,omitempty"`
	// Reason and Ticket are the caller's X-Patchbay-Reason and
	// X-Patchbay-Ticket, for the audit trail.
	Reason         string    `json:"reason,omitempty"`
	Ticket         string    `json:"ticket,omitempty"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	AcceptedAt     time.Time `json:"accepted_at"`
	// QueuedAt is when the current generation was queued (AcceptedAt, or the
	// time of the operator's retry); the age budget counts from it.
	QueuedAt      time.Time       `json:"queued_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	Attempts      []Attempt       `json:"attempts"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	RetryReason   string          `json:"retry_reason,omitempty"`
	Result        json.RawMessage `json:"result,omitempty"`
	Error         *apierror.Error `json:"error,omitempty"`
	// Generation counts operator retries (POST .../retry); each generation is
	// queued once and ends in one terminal event.
	Generation int `json:"generation"`
	// Retries are the operator retries, oldest first.
	Retries []Retry `json:"retries,omitempty"`
	// Owner is the work-queue delivery that claimed the current attempt
	// (the fencing token; see Owner).
	Owner *Owner `json:"owner,omitempty"`
	// TerminalEvent is the id of this generation's terminal event once it
	// was published; a redelivery publishes it only while this is empty.
	TerminalEvent string `json:"terminal_event,omitempty"`
}

// Message is the payload of a change on the work queue. It carries everything
// needed to rebuild the record, so the queue (not the record store) is the
// source of truth for an accepted change.
type Message struct {
	ID             string          `json:"id"`
	Operation      string          `json:"operation"`
	Resource       Resource        `json:"resource"`
	Body           json.RawMessage `json:"body"`
	RequestedBy    string          `json:"requested_by"`
	ClientAddress  string          `json:"client_address,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Ticket         string          `json:"ticket,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	AcceptedAt     time.Time       `json:"accepted_at"`
	Generation     int             `json:"generation"`
	// Retry is the operator retry that queued this generation (nil for
	// generation 0): a worker that receives the message while the record is
	// still failed at the previous generation applies Record.Requeue with it.
	Retry *Retry `json:"retry,omitempty"`
}

// MsgID is the message's JetStream Nats-Msg-Id (see the function MsgID).
func (m Message) MsgID() string { return MsgID(m.ID, m.Generation) }

// NewRecord builds the initial (queued) record of a message.
func NewRecord(m Message) Record {
	return Record{
		ID:             m.ID,
		State:          StateQueued,
		Operation:      m.Operation,
		Resource:       m.Resource,
		RequestedBy:    m.RequestedBy,
		ClientAddress:  m.ClientAddress,
		Reason:         m.Reason,
		Ticket:         m.Ticket,
		IdempotencyKey: m.IdempotencyKey,
		AcceptedAt:     m.AcceptedAt,
		QueuedAt:       m.AcceptedAt,
		UpdatedAt:      m.AcceptedAt,
		Attempts:       []Attempt{},
		Generation:     m.Generation,
	}
}
