package slackapp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/redact"
)

// Block Kit identifiers of the Retry button.
const (
	// RetryActionID is the action_id of the Retry button on a failed result.
	RetryActionID = "patchbay_retry"
	retryBlockID  = "patchbay_result_actions"
)

// Response types of a message.
const (
	responseEphemeral = "ephemeral"
	responseInChannel = "in_channel"
)

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Block Kit's limits on text (Slack refuses a message beyond them).
const (
	maxSectionText = 3000
	maxContextText = 2000
)

// truncate cuts s to at most max runes, marking the cut.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

func section(s string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(truncate(s, maxSectionText)), nil, nil)
}

func contextLine(s string) slack.Block {
	return slack.NewContextBlock("", mrkdwn(truncate(s, maxContextText)))
}

// escape makes user text inert in mrkdwn: no mentions (<!channel>), links
// or markup from a typed value.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// message builds a message of blocks with a plain-text fallback.
func message(responseType, text string, blocks ...slack.Block) *slack.WebhookMessage {
	return &slack.WebhookMessage{ResponseType: responseType, Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
}

// ephemeral is an answer only the user sees.
func ephemeral(text string, blocks ...slack.Block) *slack.WebhookMessage {
	if len(blocks) == 0 {
		blocks = []slack.Block{section(text)}
	}
	return message(responseEphemeral, text, blocks...)
}

// forms are the command forms, by verb, as shown to users.
func forms(cmd string) map[Verb]string {
	return map[Verb]string{
		VerbPeering:     cmd + ` peering <peering-id> environment=<env-id> display_name="<new name>"`,
		VerbIntegration: cmd + ` integration <integration-id> display_name="<name>" description="<text>" target.kind=Slack target.webhook_url=<https://hooks.slack.com/...>`,
		VerbStatus:      cmd + ` status <change-id>`,
		VerbRetry:       cmd + ` retry <change-id>`,
		VerbHelp:        cmd + ` help`,
	}
}

// helpMessage lists every form.
func helpMessage(cmd string) *slack.WebhookMessage {
	f := forms(cmd)
	lines := []string{"*Patchbay* queues changes to Confluent Cloud and tells you how they ended.", ""}
	for _, v := range []Verb{VerbPeering, VerbIntegration, VerbStatus, VerbRetry, VerbHelp} {
		lines = append(lines, "`"+f[v]+"`")
	}
	lines = append(lines, "", "Quote values with spaces: `display_name=\"prod east\"`. Webhook URLs are secrets: Patchbay never shows them back.")
	return ephemeral("Patchbay commands", section(strings.Join(lines, "\n")))
}

// usageMessage explains a malformed command and shows the right form.
func usageMessage(cmd string, ue *UsageError) *slack.WebhookMessage {
	form := forms(cmd)[ue.Verb]
	if ue.Verb == VerbHelp {
		return ephemeral("That command was not understood: "+ue.Problem,
			section(":warning: That command was not understood: "+ue.Problem),
			helpMessage(cmd).Blocks.BlockSet[0])
	}
	return ephemeral("That command was not understood: "+ue.Problem,
		section(":warning: That command was not understood:\n"+ue.Problem),
		section("Use:\n`"+form+"`"),
		contextLine("`"+cmd+" help` lists every command."))
}

// refusal is an ephemeral no.
func refusal(text string) *slack.WebhookMessage {
	return ephemeral(text, section(":no_entry: "+text))
}

// fieldsOf lists the fields of a body with secrets masked, as typed.
func fieldsOf(verb Verb, body []byte) []string {
	var v any
	if err := json.Unmarshal(redact.JSON(body), &v); err != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, val := range t {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, val)
			}
		default:
			out = append(out, fmt.Sprintf("`%s` = %s", typedKey(verb, prefix), escape(fmt.Sprint(t))))
		}
	}
	walk("", v)
	sort.Strings(out)
	return out
}

// acceptedMessage is the answer to a queued change: its id and what will
// be done, secrets masked.
func acceptedMessage(verb Verb, rec change.Record, body []byte, replayed bool) *slack.WebhookMessage {
	head := fmt.Sprintf(":inbox_tray: Queued change `%s`: update %s `%s`.", rec.ID, strings.ToLower(rec.Resource.Kind), escape(rec.Resource.ID))
	if replayed {
		head = fmt.Sprintf(":inbox_tray: Already queued as change `%s` (update %s `%s`).", rec.ID, strings.ToLower(rec.Resource.Kind), escape(rec.Resource.ID))
	}
	fields := fieldsOf(verb, body)
	return ephemeral(fmt.Sprintf("Queued change %s", rec.ID),
		section(head),
		section("Will set:\n"+strings.Join(fields, "\n")),
		contextLine(fmt.Sprintf("State: %s · you will get the result here when it is done.", rec.State)))
}

// statusMessage describes a change record.
func statusMessage(rec change.Record) *slack.WebhookMessage {
	lines := []string{fmt.Sprintf("%s `%s` %s `%s`: *%s*", emoji(rec.State), rec.ID, strings.ToLower(rec.Resource.Kind), escape(rec.Resource.ID), rec.State)}
	lines = append(lines, fmt.Sprintf("Requested by %s at %s", escape(rec.RequestedBy), rec.AcceptedAt.UTC().Format(time.RFC3339)))
	if n := len(rec.Attempts); n > 0 {
		a := rec.Attempts[n-1]
		lines = append(lines, fmt.Sprintf("%d attempt(s); last: HTTP %d", n, a.Status))
	}
	if rec.NextAttemptAt != nil {
		lines = append(lines, "Next attempt at "+rec.NextAttemptAt.UTC().Format(time.RFC3339))
	}
	if rec.Error != nil {
		lines = append(lines, "Error: "+escape(redact.Text(rec.Error.Title+": "+rec.Error.Detail)))
	}
	return ephemeral(fmt.Sprintf("Change %s is %s", rec.ID, rec.State), section(strings.Join(lines, "\n")))
}

func emoji(s change.State) string {
	switch s {
	case change.StateSucceeded:
		return ":white_check_mark:"
	case change.StateFailed:
		return ":x:"
	default:
		return ":hourglass_flowing_sand:"
	}
}

// resultMessage is a terminal result; a failed one carries the Retry
// button. mention names the user when the message goes to a channel
// webhook instead of the command's response_url.
func resultMessage(rec change.Record, responseType, mention string) *slack.WebhookMessage {
	head := fmt.Sprintf("%s Change `%s` *%s*: update %s `%s`", emoji(rec.State), rec.ID, rec.State, strings.ToLower(rec.Resource.Kind), escape(rec.Resource.ID))
	if mention != "" {
		head = mention + " " + head
	}
	blocks := []slack.Block{section(head)}
	if rec.State == change.StateFailed && rec.Error != nil {
		blocks = append(blocks, section("*"+escape(redact.Text(rec.Error.Title))+"*\n"+escape(redact.Text(rec.Error.Detail))))
	}
	blocks = append(blocks, contextLine(fmt.Sprintf("Requested by %s · %d attempt(s)", escape(rec.RequestedBy), len(rec.Attempts))))
	if rec.State == change.StateFailed {
		btn := slack.NewButtonBlockElement(RetryActionID, rec.ID, plain("Retry")).WithStyle(slack.StylePrimary)
		btn = btn.WithConfirm(slack.NewConfirmationBlockObject(plain("Retry this change?"),
			plain("Patchbay will queue change "+rec.ID+" again."), plain("Retry"), plain("Cancel")))
		blocks = append(blocks, slack.NewActionBlock(retryBlockID, btn))
	}
	return message(responseType, fmt.Sprintf("Change %s %s", rec.ID, rec.State), blocks...)
}

// retriedMessage answers a retry.
func retriedMessage(rec change.Record) *slack.WebhookMessage {
	return ephemeral(fmt.Sprintf("Re-queued change %s", rec.ID),
		section(fmt.Sprintf(":repeat: Re-queued change `%s` (attempt round %d): update %s `%s`. The result will follow here.",
			rec.ID, rec.Generation+1, strings.ToLower(rec.Resource.Kind), escape(rec.Resource.ID))))
}
