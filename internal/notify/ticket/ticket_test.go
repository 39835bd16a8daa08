package ticket_test

import (
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/notify/ticket"
)

func TestJira(t *testing.T) {
	for in, ok := range map[string]bool{
		"OPS-1": true, "AB_C2-12345": true, "10042": true,
		"": false, "O-1": false, "ops-1": false, "OPS-": false, "OPS-1/comment": false, "OPS-1/../../x": false,
		"OPS-1\n": false, "OPS-1?x": false, "OPS-1#": false, "OPS-1 ": false, "../10042": false, "%2e%2e": false,
		"OPS-1234567890123456789": false, strings.Repeat("A", 70) + "-1": false,
	} {
		if _, err := ticket.Jira(in); (err == nil) != ok {
			t.Errorf("Jira(%q) err = %v, want ok %v", in, err, ok)
		}
	}
}

func TestServiceNow(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	for in, ok := range map[string]bool{
		"change_request:" + id: true, "incident:" + id: true,
		"change_request:" + strings.ToUpper(id): false, "Change:" + id: false, ":" + id: false,
		"incident:" + id + "/x": false, "incident:" + id[:31]: false, "../x:" + id: false,
		"incident:" + id + ":x": false, "incident" + id: false,
	} {
		if _, _, err := ticket.ServiceNow(in); (err == nil) != ok {
			t.Errorf("ServiceNow(%q) err = %v, want ok %v", in, err, ok)
		}
	}
}

// safePathSegment is what may reach a URL path.
func safePathSegment(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func FuzzTicket(f *testing.F) {
	for _, s := range []string{"OPS-1", "10042", "ops-1", "OPS-1/../x", "change_request:0123456789abcdef0123456789abcdef",
		"incident:0123456789abcdef0123456789abcdef/../../x", "a:b", "OPS-1\n", "%2F", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ticket.Jira(s); err == nil && (!safePathSegment(k) || k != s) {
			t.Fatalf("Jira(%q) accepted unsafe %q", s, k)
		}
		if tb, id, err := ticket.ServiceNow(s); err == nil && (!safePathSegment(tb) || !safePathSegment(id) || len(id) != 32) {
			t.Fatalf("ServiceNow(%q) accepted unsafe %q %q", s, tb, id)
		}
	})
}
