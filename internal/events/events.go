// Package events builds and publishes Patchbay's result events: CloudEvents
// 1.0 in structured mode, persisted in the PATCHBAY_EVENTS JetStream stream on
// patchbay.events.change.<state>.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
)

// Contract names.
const (
	// SubjectPrefix is followed by the state: patchbay.events.change.succeeded.
	SubjectPrefix = "patchbay.events.change."
	// StreamSubjects is what the events stream captures.
	StreamSubjects = "patchbay.events.>"
	// TypePrefix is followed by the state: dev.patchbay.change.succeeded.
	TypePrefix = "dev.patchbay.change."
	// ContentType is the structured-mode CloudEvents media type.
	ContentType = "application/cloudevents+json"
	// Source is the CloudEvents source of every event.
	Source = "/patchbay"
	// SpecVersion is the CloudEvents version.
	SpecVersion = "1.0"
)

// Event is a structured-mode CloudEvent carrying a change record.
type Event struct {
	SpecVersion     string        `json:"specversion"`
	ID              string        `json:"id"`
	Source          string        `json:"source"`
	Type            string        `json:"type"`
	Subject         string        `json:"subject"`
	Time            time.Time     `json:"time"`
	DataContentType string        `json:"datacontenttype"`
	TraceParent     string        `json:"traceparent,omitempty"`
	Data            change.Record `json:"data"`
}

// ID returns the event id for a record in its current state. Terminal events
// have an id that depends only on the change and its generation, so a
// republish after a crash is de-duplicated by JetStream; retrying events are
// unique per attempt.
func ID(rec change.Record) string {
	base := rec.ID + ".g" + strconv.Itoa(rec.Generation)
	if rec.State.Terminal() {
		return base + ".terminal"
	}
	return base + ".attempt." + strconv.Itoa(len(rec.Attempts)) + "." + string(rec.State)
}

// New builds the event for rec at time now.
func New(rec change.Record, now time.Time, traceparent string) Event {
	return Event{
		SpecVersion:     SpecVersion,
		ID:              ID(rec),
		Source:          Source,
		Type:            TypePrefix + string(rec.State),
		Subject:         rec.Resource.Path,
		Time:            now.UTC(),
		DataContentType: "application/json",
		TraceParent:     traceparent,
		Data:            rec,
	}
}

// Subject is the NATS subject of an event for state.
func Subject(state change.State) string { return SubjectPrefix + string(state) }

// Publisher persists events in JetStream.
type Publisher struct {
	js  jetstream.JetStream
	now func() time.Time
}

// NewPublisher returns a Publisher; now is the clock.
func NewPublisher(js jetstream.JetStream, now func() time.Time) (*Publisher, error) {
	if js == nil || now == nil {
		return nil, fmt.Errorf("events: nil dependency")
	}
	return &Publisher{js: js, now: now}, nil
}

// Publish persists the event for rec and waits for the stream's ack.
func (p *Publisher) Publish(ctx context.Context, rec change.Record, traceparent string) error {
	ev := New(rec, p.now(), traceparent)
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("events: encode: %w", err)
	}
	msg := nats.NewMsg(Subject(rec.State))
	msg.Data = data
	msg.Header.Set("Content-Type", ContentType)
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	if traceparent != "" {
		msg.Header.Set("traceparent", traceparent)
	}
	if _, err := p.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("events: publish %s: %w", ev.ID, err)
	}
	return nil
}
