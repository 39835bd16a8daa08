package slackapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
)

// Destination delivers terminal results of changes asked for in Slack to
// the command's response_url (in the channel or ephemeral, as the caller
// says) while Slack still takes posts there (5 posts, 30 minutes), and to
// the caller's or SLACK_FALLBACK_WEBHOOK_URL's incoming webhook after
// that. A failed result carries the Retry button.
type Destination struct {
	replies  *Replies
	poster   *Poster
	callers  Directory
	fallback string
	logger   *slog.Logger
	now      func() time.Time
}

var _ notify.Destination = (*Destination)(nil)

// DestinationDeps are the Destination's collaborators.
type DestinationDeps struct {
	Replies *Replies
	Poster  *Poster
	// Callers resolve a caller's own fallback webhook
	// (slack_fallback_webhook_env); nil means SLACK_FALLBACK_WEBHOOK_URL only.
	Callers Directory
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewDestination builds the Slack destination; cfg must be valid.
func NewDestination(cfg Config, deps DestinationDeps) (*Destination, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Replies == nil || deps.Poster == nil || deps.Logger == nil {
		return nil, errors.New("slackapp: NewDestination: nil dependency")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Destination{replies: deps.Replies, poster: deps.Poster, callers: deps.Callers,
		fallback: cfg.FallbackWebhookURL, logger: deps.Logger, now: deps.Now}, nil
}

// Name implements notify.Destination.
func (d *Destination) Name() string { return "slack" }

// Wants reports whether ev is a terminal result of a change with a reply
// target (one asked for, or retried, in Slack).
func (d *Destination) Wants(ctx context.Context, ev events.Event) (bool, error) {
	if !ev.Data.State.Terminal() {
		return false, nil
	}
	_, found, err := d.replies.Find(ctx, ev.Data)
	return found, err
}

// Deliver posts the result. The response_url is used while Slack allows;
// a 404 (expired_url, used_url) or the limits move the result to the
// fallback webhook. A 429 or 5xx is a *notify.RetryableError (with
// Retry-After); no fallback configured when one is needed is permanent.
func (d *Destination) Deliver(ctx context.Context, ev events.Event, _ []byte) error {
	t, found, err := d.replies.Find(ctx, ev.Data)
	switch {
	case err != nil:
		return &notify.RetryableError{Err: err}
	case !found:
		return fmt.Errorf("slackapp: change %s has no Slack reply target", ev.Data.ID)
	}
	rec := ev.Data
	if t.usable(d.now()) && d.poster.Allows(t.ResponseURL) {
		// Count the post before making it: Slack counts attempts too.
		t.Posts++
		if t, err = d.replies.update(ctx, t); err != nil {
			return &notify.RetryableError{Err: err}
		}
		responseType := responseEphemeral
		if t.InChannel {
			responseType = responseInChannel
		}
		err := d.poster.Post(ctx, t.ResponseURL, resultMessage(rec, responseType, ""))
		var pe *PostError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &pe) && pe.Gone():
			d.logger.Info("slack response_url expired; using the fallback webhook", "change_id", rec.ID)
			t.Posts = MaxReplyPosts
			if _, uerr := d.replies.update(ctx, t); uerr != nil {
				d.logger.Warn("slack reply target", "change_id", rec.ID, "error", uerr)
			}
		case errors.As(err, &pe) && pe.Retryable():
			return &notify.RetryableError{After: pe.RetryAfter, Err: err}
		default:
			return err
		}
	}
	return d.deliverFallback(ctx, t.ReplyTarget, ev)
}

// deliverFallback posts the result, naming the user, to the incoming
// webhook of the caller or of SLACK_FALLBACK_WEBHOOK_URL.
func (d *Destination) deliverFallback(ctx context.Context, t ReplyTarget, ev events.Event) error {
	url := d.fallback
	if d.callers != nil {
		if c := d.callers.ByName(t.Caller); c != nil && c.Slack.FallbackWebhookURL != "" {
			url = c.Slack.FallbackWebhookURL
		}
	}
	if url == "" {
		return fmt.Errorf("slackapp: the response_url of change %s can no longer be used and no fallback webhook is configured (SLACK_FALLBACK_WEBHOOK_URL or slack_fallback_webhook_env of caller %q)", ev.Data.ID, t.Caller)
	}
	err := d.poster.Post(ctx, url, resultMessage(ev.Data, "", "<@"+t.UserID+">"))
	var pe *PostError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.Retryable():
		return &notify.RetryableError{After: pe.RetryAfter, Err: err}
	default:
		return fmt.Errorf("slackapp: fallback webhook for change %s: %w", ev.Data.ID, err)
	}
}
