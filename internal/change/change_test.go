package change_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
)

var idPattern = regexp.MustCompile(`^chg_[a-z2-7]{26}$`)

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := change.NewID()
		if !idPattern.MatchString(id) {
			t.Fatalf("NewID() = %q does not match %s", id, idPattern)
		}
		if !change.ValidID(id) {
			t.Fatalf("ValidID(NewID()) = false for %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	valid := "chg_" + strings.Repeat("a", 20) + "234567"
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{name: "valid", id: valid, want: true},
		{name: "all digits 2-7", id: "chg_" + strings.Repeat("7", 26), want: true},
		{name: "empty", id: "", want: false},
		{name: "prefix only", id: "chg_", want: false},
		{name: "missing prefix", id: strings.Repeat("a", 30), want: false},
		{name: "wrong prefix", id: "chx_" + strings.Repeat("a", 26), want: false},
		{name: "upper-case prefix", id: "CHG_" + strings.Repeat("a", 26), want: false},
		{name: "prefix without underscore", id: "chg" + strings.Repeat("a", 27), want: false},
		{name: "too short", id: "chg_" + strings.Repeat("a", 25), want: false},
		{name: "too long", id: "chg_" + strings.Repeat("a", 27), want: false},
		{name: "upper-case letter", id: "chg_" + strings.Repeat("a", 25) + "A", want: false},
		{name: "digit 0", id: "chg_" + strings.Repeat("a", 25) + "0", want: false},
		{name: "digit 1", id: "chg_" + strings.Repeat("a", 25) + "1", want: false},
		{name: "digit 8", id: "chg_" + strings.Repeat("a", 25) + "8", want: false},
		{name: "padding", id: "chg_" + strings.Repeat("a", 25) + "=", want: false},
		{name: "dot (KV subject separator)", id: "chg_" + strings.Repeat("a", 25) + ".", want: false},
		{name: "wildcard", id: "chg_" + strings.Repeat("a", 25) + "*", want: false},
		{name: "slash", id: "chg_" + strings.Repeat("a", 25) + "/", want: false},
		{name: "space", id: "chg_" + strings.Repeat("a", 25) + " ", want: false},
		{name: "multi-byte rune with 26 bytes", id: "chg_" + strings.Repeat("a", 24) + "é", want: false},
		{name: "leading space", id: " " + valid, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := change.ValidID(tt.id); got != tt.want {
				t.Fatalf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestNewRecord(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	tests := []struct {
		name string
		msg  change.Message
	}{
		{
			name: "peering with idempotency key",
			msg: change.Message{
				ID: "chg_aaaaaaaaaaaaaaaaaaaaaaaaaa", Operation: "networking.v1.peerings.update",
				Resource:    change.Resource{Kind: "Peering", ID: "p-1", Path: "/networking/v1/peerings/p-1"},
				Body:        json.RawMessage(`{"spec":{"environment":{"id":"env-1"}}}`),
				RequestedBy: "jira", IdempotencyKey: "key-1", AcceptedAt: at,
			},
		},
		{
			name: "integration, later generation",
			msg: change.Message{
				ID: "chg_bbbbbbbbbbbbbbbbbbbbbbbbbb", Operation: "notifications.v1.integrations.update",
				Resource:    change.Resource{Kind: "Integration", ID: "i-1", Path: "/notifications/v1/integrations/i-1"},
				Body:        json.RawMessage(`{"target":{"kind":"Slack","webhook_url":"https://hooks.slack.com/SECRET"}}`),
				RequestedBy: "bot", AcceptedAt: at.Add(time.Hour), Generation: 3,
			},
		},
		{
			name: "with the audit fields",
			msg: change.Message{
				ID: "chg_cccccccccccccccccccccccccc", Operation: "networking.v1.peerings.update",
				Resource:    change.Resource{Kind: "Peering", ID: "p-2", Path: "/networking/v1/peerings/p-2"},
				Body:        json.RawMessage(`{"spec":{"environment":{"id":"env-2"}}}`),
				RequestedBy: "jira", ClientAddress: "203.0.113.7", Reason: "rename for OPS-42", Ticket: "OPS-42", AcceptedAt: at,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := change.NewRecord(tt.msg)
			want := change.Record{
				ID: tt.msg.ID, State: change.StateQueued, Operation: tt.msg.Operation, Resource: tt.msg.Resource,
				RequestedBy: tt.msg.RequestedBy, IdempotencyKey: tt.msg.IdempotencyKey,
				ClientAddress: tt.msg.ClientAddress, Reason: tt.msg.Reason, Ticket: tt.msg.Ticket,
				AcceptedAt: tt.msg.AcceptedAt, QueuedAt: tt.msg.AcceptedAt, UpdatedAt: tt.msg.AcceptedAt,
				Attempts: []change.Attempt{}, Generation: tt.msg.Generation,
			}
			if !reflect.DeepEqual(rec, want) {
				t.Fatalf("NewRecord =\n %+v\nwant\n %+v", rec, want)
			}
			b, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			// The record never carries the request body (it may hold secrets),
			// and attempts encode as [] rather than null.
			if strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "env-1") || strings.Contains(string(b), "env-2") {
				t.Fatalf("record JSON carries the body: %s", b)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if string(m["attempts"]) != "[]" {
				t.Fatalf("attempts = %s, want []", m["attempts"])
			}
			absentKeys := []string{"completed_at", "next_attempt_at", "result", "error", "retry_reason"}
			if tt.msg.Reason == "" {
				absentKeys = append(absentKeys, "client_address", "reason", "ticket")
			}
			for _, absent := range absentKeys {
				if _, ok := m[absent]; ok {
					t.Errorf("new record has %q: %s", absent, b)
				}
			}
		})
	}
}

func TestStateTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state change.State
		want  bool
	}{
		{change.StateQueued, false},
		{change.StateRunning, false},
		{change.StateRetrying, false},
		{change.StateSucceeded, true},
		{change.StateFailed, true},
		{change.State(""), false},
		{change.State("SUCCEEDED"), false},
		{change.State("unknown"), false},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			t.Parallel()
			if got := tt.state.Terminal(); got != tt.want {
				t.Fatalf("%q.Terminal() = %v, want %v", tt.state, got, tt.want)
			}
		})
	}
}

func TestStateValues(t *testing.T) {
	t.Parallel()
	// The state names are part of the external contract (DESIGN.md).
	tests := []struct {
		state change.State
		want  string
	}{
		{change.StateQueued, "queued"},
		{change.StateRunning, "running"},
		{change.StateRetrying, "retrying"},
		{change.StateSucceeded, "succeeded"},
		{change.StateFailed, "failed"},
	}
	for _, tt := range tests {
		if string(tt.state) != tt.want {
			t.Errorf("state %q, want %q", tt.state, tt.want)
		}
	}
}
