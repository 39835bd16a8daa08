package slackapp

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/patchbay/patchbay/internal/intake"
)

// Directory finds the caller a Slack user acts as (and a caller by name,
// for its fallback webhook). *intake.Callers implements it.
type Directory interface {
	BySlackUser(teamID, userID string) *intake.Caller
	ByName(name string) *intake.Caller
}

// requestedBy is what a Slack user's change records as requested_by:
// "<caller> (slack <TEAM_ID>/<USER_ID>)", e.g. "ops (slack T123/U456)".
// Caller names match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ and Slack ids are
// checked to be upper-case letters and digits (intake.SlackUser), so the
// value holds no spaces, quotes, markup or newlines of anyone's choosing.
// CallerOf recovers the caller's name.
func requestedBy(caller, slackUser string) string {
	return caller + " (slack " + slackUser + ")"
}

// CallerOf returns the caller's name in a requested_by value written by the
// Slack app ("ops (slack T123/U456)" -> "ops"); other values are returned
// as they are.
func CallerOf(requestedBy string) string {
	for i := 0; i < len(requestedBy); i++ {
		if requestedBy[i] == ' ' {
			return requestedBy[:i]
		}
	}
	return requestedBy
}

// idempotencyKey derives a command's Idempotency-Key from what Slack sends
// again, unchanged, when it retries a command (X-Slack-Retry-Num): the
// user and the command's trigger_id; without a trigger_id, the whole body.
// The queue scopes keys by requested_by, which names the Slack user too.
func idempotencyKey(slackUser, triggerID string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(slackUser + "\x00"))
	if triggerID != "" {
		h.Write([]byte("trigger\x00" + triggerID))
	} else {
		h.Write([]byte("body\x00"))
		h.Write(body)
	}
	return "slack-" + hex.EncodeToString(h.Sum(nil))[:40]
}
