// Package slackapp makes Patchbay the endpoint of a Slack app: the slash
// command /patchbay (POST /slack/commands), the Retry button of a failed
// result (POST /slack/interactions), and the Slack destination that posts
// results back to the command's response_url (or a fallback incoming
// webhook). Every request is verified with the app's signing secret
// (github.com/slack-go/slack), a Slack user acts as the caller of the
// callers file that lists it in slack_users, with exactly that caller's
// scope, and a change goes through the same validation (internal/schema)
// and queue as one sent to the HTTP intake.
package slackapp
