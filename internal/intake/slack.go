package intake

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// SlackSettings say where the results of a caller's Slack commands go.
type SlackSettings struct {
	// InChannel posts results in the channel for everyone; otherwise they are
	// ephemeral, seen only by the user who typed the command.
	InChannel bool
	// FallbackWebhookURL is an incoming webhook that receives a result when
	// the command's response_url can no longer be used (after 30 minutes or
	// 5 posts); empty means the Slack app's SLACK_FALLBACK_WEBHOOK_URL. It is
	// a secret.
	FallbackWebhookURL string `json:"-"`
}

// slackUserID is a Slack user as "TEAM_ID/USER_ID" (workspace or enterprise
// id, then the member id): upper-case letters and digits only, so it is
// safe in requested_by, logs and keys.
var slackUserID = regexp.MustCompile(`^[A-Z0-9]{1,32}/[A-Z0-9]{1,32}$`)

// SlackUser returns the "TEAM_ID/USER_ID" form of a Slack user, and false if
// either id is not shaped like a Slack id.
func SlackUser(teamID, userID string) (string, bool) {
	u := teamID + "/" + userID
	return u, slackUserID.MatchString(u)
}

// BySlackUser returns the caller a Slack user acts as, or nil.
func (cs *Callers) BySlackUser(teamID, userID string) *Caller {
	u, ok := SlackUser(teamID, userID)
	if !ok || cs == nil {
		return nil
	}
	for _, c := range cs.list {
		for _, su := range c.SlackUsers {
			if su == u {
				return c
			}
		}
	}
	return nil
}

// ByName returns the caller with this name, or nil.
func (cs *Callers) ByName(name string) *Caller {
	if cs == nil {
		return nil
	}
	for _, c := range cs.list {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// slack validates the Slack fields of a callers file entry into c.
func (e callerEntry) slack(c *Caller, lookupEnv func(string) (string, bool)) error {
	if e.SlackUsers != nil && len(e.SlackUsers) == 0 {
		return errors.New("slack_users is empty (omit it for a caller without Slack users)")
	}
	seen := map[string]bool{}
	for _, u := range e.SlackUsers {
		if !slackUserID.MatchString(u) {
			return fmt.Errorf("slack_users: %s is not TEAM_ID/USER_ID (for example T0123ABCD/U0456EFGH)", quoteName(u))
		}
		if seen[u] {
			return fmt.Errorf("slack_users: %s appears twice", quoteName(u))
		}
		seen[u] = true
		c.SlackUsers = append(c.SlackUsers, u)
	}
	switch e.SlackResponseType {
	case "", "ephemeral":
	case "in_channel":
		c.Slack.InChannel = true
	default:
		return errors.New(`slack_response_type must be "ephemeral" or "in_channel"`)
	}
	if e.SlackFallbackWebhookEnv == "" {
		return nil
	}
	if !envName.MatchString(e.SlackFallbackWebhookEnv) {
		return errors.New("slack_fallback_webhook_env is not an environment variable name")
	}
	v, ok := lookupEnv(e.SlackFallbackWebhookEnv)
	if !ok || v == "" {
		return fmt.Errorf("slack_fallback_webhook_env: %s is not set", e.SlackFallbackWebhookEnv)
	}
	u, err := url.Parse(v)
	if err != nil || !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
		// Never repeat the value: an incoming webhook URL is a secret.
		return fmt.Errorf("slack_fallback_webhook_env: %s is not an absolute http(s) URL", e.SlackFallbackWebhookEnv)
	}
	c.Slack.FallbackWebhookURL = v
	return nil
}

// HasSlackUsers reports whether any caller has Slack users.
func (cs *Callers) HasSlackUsers() bool {
	if cs == nil {
		return false
	}
	for _, c := range cs.list {
		if len(c.SlackUsers) > 0 {
			return true
		}
	}
	return false
}
