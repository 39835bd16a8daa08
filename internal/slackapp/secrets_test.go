package slackapp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
)

// TestSecretsMasked: a webhook URL typed in a command, the command's
// response_url and the signing secret appear in no answer, record, event,
// result post or log line.
func TestSecretsMasked(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	c := b.command(opsUser, `integration i-1 display_name="alerts" target.kind=Slack target.webhook_url=`+secretWebhook)
	answer := text(b.run(c))
	if !strings.Contains(answer, "[REDACTED]") {
		t.Errorf("answer does not show the masked URL: %s", answer)
	}
	id := changeID(t, b.run(c)) // Slack's retry of it too
	// A malformed command with the secret in it.
	bad := text(b.run(b.command(opsUser, `integration i-1 target.kind=MsTeams target.url=`+secretWebhook)))
	bad += text(b.run(b.command(opsUser, `integration i-1 target.kind=Slack `+secretWebhook)))
	bad += text(b.run(b.command(opsUser, `integration `+secretWebhook)))
	rec := b.finish(id, change.StateFailed)
	if err := b.deliver(rec); err != nil {
		t.Fatal(err)
	}
	status := text(b.run(b.command(opsUser, "status "+id)))
	stored, _, _ := b.records.Get(context.Background(), id)
	recJSON, _ := json.Marshal(stored)
	evJSON, _ := json.Marshal(events.New(stored, time.Now(), ""))
	var posts []string
	for _, p := range b.slack.Posts(c.ResponseURL) {
		posts = append(posts, string(p.Raw))
	}
	for name, s := range map[string]string{
		"answer": answer, "malformed answer": bad, "status": status, "record": string(recJSON),
		"event": string(evJSON), "result post": strings.Join(posts, "\n"), "logs": b.logs.String(),
	} {
		for _, secret := range []string{secretWebhook, "XXXXSECRETXXXX", c.ResponseURL, signingSecret} {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows a secret (%.30s...): %s", name, secret, s)
			}
		}
	}
	if len(posts) != 1 {
		t.Errorf("%d result posts, want 1", len(posts))
	}
}
