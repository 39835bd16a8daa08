package notify

import (
	"net/url"
	"strings"

	"github.com/patchbay/patchbay/internal/events"
)

// Summary is what a human-readable notification (a ticket comment, a work
// note) says about a result event. It holds no secret: the change record
// never does.
type Summary struct {
	// Headline: "Patchbay: Update a Peering p-123 succeeded".
	Headline string
	// Outcome is the state (succeeded, failed, retrying) and, for a
	// failure, the error code and title.
	Outcome string
	// Operation and Resource say what changed.
	Operation, Resource string
	// UpstreamRequestID is the last attempt's upstream X-Request-Id.
	UpstreamRequestID string
	// Link is the change record's URL (empty without a public base URL).
	Link string
	// EventID is the CloudEvent id (the de-duplication key).
	EventID string
}

// Summarize builds the summary of ev; publicBase is the intake's public
// base URL ("https://patchbay.example.com"), or empty.
func Summarize(ev events.Event, publicBase string) Summary {
	rec := ev.Data
	s := Summary{
		Operation: rec.Operation,
		Resource:  rec.Resource.Path,
		Outcome:   string(rec.State),
		EventID:   ev.ID,
	}
	s.Headline = "Patchbay: " + rec.Operation + " of " + rec.Resource.Kind + " " + rec.Resource.ID + " " + string(rec.State)
	if rec.Error != nil {
		parts := []string{string(rec.State)}
		if rec.Error.Status != "" {
			parts = append(parts, "status "+rec.Error.Status)
		}
		if rec.Error.Code != "" {
			parts = append(parts, rec.Error.Code)
		}
		if rec.Error.Title != "" {
			parts = append(parts, rec.Error.Title)
		}
		s.Outcome = strings.Join(parts, ", ")
	}
	if rec.State == "retrying" && rec.RetryReason != "" {
		s.Outcome += " (" + rec.RetryReason + ")"
	}
	for i := len(rec.Attempts) - 1; i >= 0; i-- {
		if id := rec.Attempts[i].UpstreamRequestID; id != "" {
			s.UpstreamRequestID = id
			break
		}
	}
	if publicBase != "" {
		s.Link = strings.TrimRight(publicBase, "/") + "/v1/changes/" + url.PathEscape(rec.ID)
	}
	return s
}

// Text renders the summary as plain lines.
func (s Summary) Text() string {
	var b strings.Builder
	b.WriteString(s.Headline + "\n")
	b.WriteString("Outcome: " + s.Outcome + "\n")
	b.WriteString("Resource: " + s.Resource + "\n")
	if s.UpstreamRequestID != "" {
		b.WriteString("Upstream request id: " + s.UpstreamRequestID + "\n")
	}
	if s.Link != "" {
		b.WriteString("Change record: " + s.Link + "\n")
	}
	b.WriteString("Event id: " + s.EventID)
	return b.String()
}
