// Package notifyqueue holds the notifier's durable state in JetStream: the
// work queue of deliveries (one message per result event and destination, on
// stream PATCHBAY_NOTIFY) and the delivery status of each change (KV bucket
// patchbay_notifications, keyed by change id), which the change record shows
// as its notifications. Given-up deliveries are parked beside their status so
// that POST /v1/changes/{id}/notify can queue them again.
package notifyqueue

import (
	"encoding/json"
	"strings"
	"time"
)

// Names of the JetStream assets (part of the operational contract).
const (
	// Stream is the work queue of deliveries.
	Stream = "PATCHBAY_NOTIFY"
	// SubjectPrefix is followed by the destination name: patchbay.notify.jira.
	SubjectPrefix = "patchbay.notify."
	// StreamSubjects is what the stream captures.
	StreamSubjects = SubjectPrefix + "*"
	// Bucket keeps the delivery status of every change, keyed by change id.
	Bucket = "patchbay_notifications"
)

// Subject is the work-queue subject of a destination.
func Subject(destination string) string { return SubjectPrefix + destination }

// Item is one delivery to do: a result event for one destination.
type Item struct {
	Destination string `json:"destination"`
	ChangeID    string `json:"change_id"`
	EventID     string `json:"event_id"`
	// EnqueuedAt starts the delivery's age budget (reset by a redelivery).
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Event is the CloudEvent exactly as stored in PATCHBAY_EVENTS.
	Event json.RawMessage `json:"event"`
}

// State is where one delivery is.
type State string

// Delivery states.
const (
	Delivered State = "delivered"
	Retrying  State = "retrying"
	GivenUp   State = "given_up"
)

// Delivery is the status of one (event, destination) delivery, as the
// change record shows it. It never holds a secret: codes, not messages.
type Delivery struct {
	Destination string `json:"destination"`
	EventID     string `json:"event_id"`
	State       State  `json:"state"`
	// Attempts counts calls to the receiver in the current round (since
	// the delivery was queued, or last redelivered).
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastErrorCode  string     `json:"last_error_code,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Redeliveries counts operator redeliveries (POST .../notify).
	Redeliveries int `json:"redeliveries,omitempty"`
}

// key identifies a delivery within a change.
func (d Delivery) key() string { return d.Destination + " " + d.EventID }

// doc is the stored value of one change.
type doc struct {
	Deliveries []Delivery `json:"deliveries"`
	// Parked are the items of given-up deliveries, kept for a redelivery
	// (until the notifier's first attempt of the new round).
	Parked []Item `json:"parked,omitempty"`
	// Queued are the de-duplication ids of the redeliveries queued and not
	// yet attempted.
	Queued []string `json:"queued,omitempty"`
}

// queued reports whether the redelivery msgID is queued.
func (d *doc) queued(msgID string) bool {
	for _, q := range d.Queued {
		if q == msgID {
			return true
		}
	}
	return false
}

func (d *doc) find(dest, eventID string) int {
	for i := range d.Deliveries {
		if d.Deliveries[i].Destination == dest && d.Deliveries[i].EventID == eventID {
			return i
		}
	}
	return -1
}

func (d *doc) unpark(dest, eventID string) {
	kept := d.Parked[:0]
	for _, it := range d.Parked {
		if it.Destination != dest || it.EventID != eventID {
			kept = append(kept, it)
		}
	}
	d.Parked = kept
	prefix := EnqueueID(eventID, dest) + ".r"
	queued := d.Queued[:0]
	for _, q := range d.Queued {
		if !strings.HasPrefix(q, prefix) {
			queued = append(queued, q)
		}
	}
	d.Queued = queued
}
