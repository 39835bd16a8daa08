// Package ticket validates the ticket a change names (X-Patchbay-Ticket)
// before any part of it reaches a URL path: a Jira issue key or numeric id,
// or a ServiceNow "table:sys_id".
package ticket

import (
	"errors"
	"regexp"
	"strings"
)

// ErrInvalid is a ticket that is not of the expected shape.
var ErrInvalid = errors.New("ticket: invalid ticket")

var (
	jiraKey      = regexp.MustCompile(`^[A-Z][A-Z0-9_]+-[0-9]{1,18}$`)
	jiraID       = regexp.MustCompile(`^[0-9]{1,18}$`)
	snTable      = regexp.MustCompile(`^[a-z0-9_]{1,80}$`)
	snSysID      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	maxJiraKeyLn = 64
)

// Jira returns the issue key or id named by s ("OPS-123" or "10042").
func Jira(s string) (string, error) {
	if len(s) > maxJiraKeyLn || !(jiraKey.MatchString(s) || jiraID.MatchString(s)) {
		return "", ErrInvalid
	}
	return s, nil
}

// ServiceNow returns the table and sys_id named by s
// ("change_request:0123456789abcdef0123456789abcdef").
func ServiceNow(s string) (table, sysID string, err error) {
	table, sysID, ok := strings.Cut(s, ":")
	if !ok || !snTable.MatchString(table) || !snSysID.MatchString(sysID) {
		return "", "", ErrInvalid
	}
	return table, sysID, nil
}

// IsServiceNowLike reports whether s is meant for ServiceNow (it has a
// colon) rather than Jira; the strict parsers decide whether it is valid.
func IsServiceNowLike(s string) bool { return strings.Contains(s, ":") }
