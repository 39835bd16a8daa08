package events_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
)

var accepted = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func record(state change.State, generation, attempts int) change.Record {
	rec := change.NewRecord(change.Message{
		ID:          "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa",
		Operation:   "networking.v1.peerings.update",
		Resource:    change.Resource{Kind: "Peering", ID: "p-123", Path: "/networking/v1/peerings/p-123"},
		RequestedBy: "jira",
		AcceptedAt:  accepted,
		Generation:  generation,
	})
	rec.State = state
	for i := 1; i <= attempts; i++ {
		rec.Attempts = append(rec.Attempts, change.Attempt{Number: i, StartedAt: accepted.Add(time.Duration(i) * time.Second), Status: 503})
	}
	return rec
}

func TestIDTerminalDeterministic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state change.State
	}{
		{name: "succeeded", state: change.StateSucceeded},
		{name: "failed", state: change.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := events.ID(record(tt.state, 0, 1))
			b := events.ID(record(tt.state, 0, 1))
			if a == "" || a != b {
				t.Fatalf("terminal ids of the same change and generation differ: %q vs %q", a, b)
			}
			// A later attempt count (e.g. republish after a crash that
			// recorded one more attempt) must not change the terminal id.
			if c := events.ID(record(tt.state, 0, 3)); c != a {
				t.Fatalf("terminal id depends on attempts: %q vs %q", c, a)
			}
			// The id must also be the same when built through New at different times.
			e1 := events.New(record(tt.state, 0, 1), accepted, "")
			e2 := events.New(record(tt.state, 0, 1), accepted.Add(time.Hour), "tp")
			if e1.ID != a || e2.ID != a {
				t.Fatalf("New ids %q, %q, want %q", e1.ID, e2.ID, a)
			}
			if g1 := events.ID(record(tt.state, 1, 1)); g1 == a {
				t.Fatalf("terminal ids of generations 0 and 1 are equal: %q", g1)
			}
			other := record(tt.state, 0, 1)
			other.ID = "chg_bbbbbbbbbbbbbbbbbbbbbbbbbb"
			if o := events.ID(other); o == a {
				t.Fatalf("terminal ids of different changes are equal: %q", o)
			}
		})
	}
}

func TestIDRetryingUniquePerAttempt(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for gen := 0; gen < 3; gen++ {
		for n := 1; n <= 5; n++ {
			id := events.ID(record(change.StateRetrying, gen, n))
			if id == "" {
				t.Fatal("empty id")
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("retrying id %q repeated (attempt %d and key %d)", id, n, prev)
			}
			seen[id] = gen*10 + n
		}
	}
	// Terminal ids never collide with retrying ids.
	for gen := 0; gen < 3; gen++ {
		for _, st := range []change.State{change.StateSucceeded, change.StateFailed} {
			if _, dup := seen[events.ID(record(st, gen, 5))]; dup {
				t.Fatalf("terminal id equals a retrying id")
			}
		}
	}
	// Succeeded and failed share the terminal id: a change has only one
	// terminal event per generation, so a second one must be de-duplicated.
	if events.ID(record(change.StateSucceeded, 0, 1)) != events.ID(record(change.StateFailed, 0, 1)) {
		t.Fatal("succeeded and failed terminal ids differ for one generation")
	}
}

func TestNewAttributes(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 6, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		state       change.State
		wantType    string
		wantSubject string
	}{
		{change.StateRetrying, "dev.patchbay.change.retrying", "patchbay.events.change.retrying"},
		{change.StateSucceeded, "dev.patchbay.change.succeeded", "patchbay.events.change.succeeded"},
		{change.StateFailed, "dev.patchbay.change.failed", "patchbay.events.change.failed"},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			t.Parallel()
			rec := record(tt.state, 2, 2)
			ev := events.New(rec, now, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			if ev.SpecVersion != "1.0" {
				t.Errorf("specversion = %q", ev.SpecVersion)
			}
			if ev.Type != tt.wantType {
				t.Errorf("type = %q, want %q", ev.Type, tt.wantType)
			}
			if ev.Subject != "/networking/v1/peerings/p-123" {
				t.Errorf("subject = %q, want the resource path", ev.Subject)
			}
			if ev.Source != "/patchbay" {
				t.Errorf("source = %q", ev.Source)
			}
			if ev.DataContentType != "application/json" {
				t.Errorf("datacontenttype = %q", ev.DataContentType)
			}
			if !ev.Time.Equal(now) || ev.Time.Location() != time.UTC {
				t.Errorf("time = %v, want %v in UTC", ev.Time, now)
			}
			if ev.TraceParent != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" {
				t.Errorf("traceparent = %q", ev.TraceParent)
			}
			if ev.ID != events.ID(rec) {
				t.Errorf("id = %q, want %q", ev.ID, events.ID(rec))
			}
			if !reflect.DeepEqual(ev.Data, rec) {
				t.Errorf("data = %+v, want %+v", ev.Data, rec)
			}
			if got := events.Subject(tt.state); got != tt.wantSubject {
				t.Errorf("Subject = %q, want %q", got, tt.wantSubject)
			}
		})
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		traceparent string
	}{
		{name: "with traceparent", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		{name: "without traceparent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := record(change.StateSucceeded, 0, 1)
			b, err := json.Marshal(events.New(rec, accepted.Add(time.Minute), tt.traceparent))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			wantStrings := map[string]string{
				"specversion":     "1.0",
				"id":              events.ID(rec),
				"source":          "/patchbay",
				"type":            "dev.patchbay.change.succeeded",
				"subject":         "/networking/v1/peerings/p-123",
				"datacontenttype": "application/json",
				"time":            "2025-03-04T05:07:07Z",
			}
			for k, want := range wantStrings {
				raw, ok := m[k]
				if !ok {
					t.Errorf("attribute %q missing in %s", k, b)
					continue
				}
				var got string
				if err := json.Unmarshal(raw, &got); err != nil || got != want {
					t.Errorf("%s = %s, want %q", k, raw, want)
				}
			}
			_, hasTP := m["traceparent"]
			if hasTP != (tt.traceparent != "") {
				t.Errorf("traceparent present = %v, want %v", hasTP, tt.traceparent != "")
			}
			var data change.Record
			if err := json.Unmarshal(m["data"], &data); err != nil {
				t.Fatalf("data: %v", err)
			}
			if !reflect.DeepEqual(data, rec) {
				t.Errorf("data = %+v, want %+v", data, rec)
			}
			// CloudEvents 1.0 forbids attribute names other than lower-case
			// letters and digits.
			for k := range m {
				for _, c := range k {
					if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
						t.Errorf("attribute name %q is not a valid CloudEvents name", k)
					}
				}
			}
		})
	}
}
