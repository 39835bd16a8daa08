// Package slacksim plays Slack for tests and `make run`: it signs slash
// commands and button clicks as Slack does (X-Slack-Signature, v0 HMAC of
// "v0:{timestamp}:{body}") and receives the posts an app makes to
// response_url and incoming webhook URLs, enforcing Slack's limits on a
// response_url (5 posts within 30 minutes, then 404 expired_url or
// used_url) and answering 429 with Retry-After when told to.
package slacksim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Signer signs requests with an app's signing secret, as Slack does.
type Signer struct {
	Secret string
}

// Signature returns X-Slack-Signature for body sent at ts.
func (s Signer) Signature(ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(s.Secret))
	fmt.Fprintf(mac, "v0:%d:", ts.Unix())
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Request builds a signed form POST to target sent at ts.
func (s Signer) Request(target string, form url.Values, ts time.Time) (*http.Request, error) {
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("slacksim: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("X-Slack-Signature", s.Signature(ts, []byte(body)))
	return req, nil
}

// Curl is a shell command that sends the same signed request with curl.
func (s Signer) Curl(target string, form url.Values, ts time.Time) string {
	body := form.Encode()
	return fmt.Sprintf("curl -sS -X POST '%s' \\\n    -H 'Content-Type: application/x-www-form-urlencoded' \\\n    -H 'X-Slack-Request-Timestamp: %d' \\\n    -H 'X-Slack-Signature: %s' \\\n    --data-raw '%s'",
		target, ts.Unix(), s.Signature(ts, []byte(body)), strings.ReplaceAll(body, "'", "'\\''"))
}

// Command is a slash command as Slack sends it.
type Command struct {
	TeamID, UserID, ChannelID string
	// Command is the command name; empty means /patchbay.
	Command     string
	Text        string
	ResponseURL string
	TriggerID   string
}

// Form is the command's form body.
func (c Command) Form() url.Values {
	name := c.Command
	if name == "" {
		name = "/patchbay"
	}
	return url.Values{
		"token": {"deprecated-verification-token"}, "team_id": {c.TeamID}, "team_domain": {"sim"},
		"channel_id": {c.ChannelID}, "channel_name": {"ops"}, "user_id": {c.UserID}, "user_name": {"sim-user"},
		"command": {name}, "text": {c.Text}, "response_url": {c.ResponseURL}, "trigger_id": {c.TriggerID},
		"api_app_id": {"ASIM"},
	}
}

// ButtonClick is a click on a Block Kit button as Slack sends it.
type ButtonClick struct {
	TeamID, UserID, ChannelID string
	ActionID, Value           string
	ResponseURL               string
	TriggerID                 string
}

// Form is the click's form body: payload holds the interaction JSON.
func (b ButtonClick) Form() (url.Values, error) {
	ic := slack.InteractionCallback{
		Type:        slack.InteractionTypeBlockActions,
		ResponseURL: b.ResponseURL,
		TriggerID:   b.TriggerID,
		Team:        slack.Team{ID: b.TeamID},
		User:        slack.User{ID: b.UserID, TeamID: b.TeamID},
		Channel:     slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: b.ChannelID}}},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: b.ActionID, Value: b.Value, Type: "button"},
		}},
	}
	data, err := json.Marshal(ic)
	if err != nil {
		return nil, fmt.Errorf("slacksim: encode interaction: %w", err)
	}
	return url.Values{"payload": {string(data)}}, nil
}
