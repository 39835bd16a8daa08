package slackapp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/slacksim"
)

// deliver plays the notifier for one terminal record: Wants, then Deliver.
func (b *bundle) deliver(rec change.Record) error {
	b.t.Helper()
	ev := events.New(rec, time.Now(), "")
	raw, _ := json.Marshal(ev)
	ok, err := b.dest.Wants(context.Background(), ev)
	if err != nil {
		b.t.Fatal(err)
	}
	if !ok {
		b.t.Fatalf("destination does not want the %s event of %s", rec.State, rec.ID)
	}
	return b.dest.Deliver(context.Background(), ev, raw)
}

// queueFrom runs a change command from user and returns its id and command.
func (b *bundle) queueFrom(user, text string) (string, slacksim.Command) {
	b.t.Helper()
	c := b.command(user, text)
	return changeID(b.t, b.run(c)), c
}

// retryButton finds the Retry button of a message.
func retryButton(msg slack.WebhookMessage) *slack.ButtonBlockElement {
	if msg.Blocks == nil {
		return nil
	}
	for _, bl := range msg.Blocks.BlockSet {
		if a, ok := bl.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == "patchbay_retry" {
					return btn
				}
			}
		}
	}
	return nil
}

func TestResultsGoToResponseURL(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	for _, tc := range []struct {
		name, user, wantType string
		state                change.State
	}{
		{"success, in channel (ops)", opsUser, "in_channel", change.StateSucceeded},
		{"failure, ephemeral (net)", netUser, "ephemeral", change.StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, c := b.queueFrom(tc.user, `peering p-1 environment=env-net`)
			if err := b.deliver(b.finish(id, tc.state)); err != nil {
				t.Fatal(err)
			}
			posts := b.slack.Posts(c.ResponseURL)
			if len(posts) != 1 {
				t.Fatalf("%d posts to response_url, want 1", len(posts))
			}
			msg := posts[0].Message
			if msg.ResponseType != tc.wantType || msg.ReplaceOriginal {
				t.Errorf("response_type %q replace_original %v", msg.ResponseType, msg.ReplaceOriginal)
			}
			if !strings.Contains(text(msg), id) || !strings.Contains(text(msg), string(tc.state)) {
				t.Errorf("result: %s", text(msg))
			}
			btn := retryButton(msg)
			if (tc.state == change.StateFailed) != (btn != nil) {
				t.Fatalf("state %s, Retry button %v", tc.state, btn != nil)
			}
			if btn != nil && btn.Value != id {
				t.Errorf("Retry button value %q, want %s", btn.Value, id)
			}
		})
	}
}

func TestDestinationWants(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id, _ := b.queueFrom(opsUser, `peering p-1 environment=env-1`)
	rec, _, _ := b.records.Get(context.Background(), id)
	for _, tc := range []struct {
		name string
		rec  change.Record
		want bool
	}{
		{"queued", rec, false},
		{"retrying", func() change.Record { r := rec; r.State = change.StateRetrying; return r }(), false},
		{"succeeded", func() change.Record { r := rec; r.State = change.StateSucceeded; return r }(), true},
		{"not from Slack", change.Record{ID: "chg_bbbbbbbbbbbbbbbbbbbbbbbbbb", State: change.StateFailed, RequestedBy: "jira", IdempotencyKey: "k"}, false},
		// The result can come before the change-id key is written: the
		// key stored before queueing (requested_by + Idempotency-Key) finds it.
		{"by idempotency key", func() change.Record {
			r := rec
			r.ID, r.State = "chg_cccccccccccccccccccccccccc", change.StateSucceeded
			return r
		}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.dest.Wants(context.Background(), events.New(tc.rec, time.Now(), ""))
			if err != nil || got != tc.want {
				t.Errorf("Wants = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if b.dest.Name() != "slack" {
		t.Errorf("Name %q", b.dest.Name())
	}
}

func TestLateResultsGoToFallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		user      string
		prepare   func(b *bundle, responseURL string)
		wantHook  func(b *bundle) string
		wantPosts int // posts accepted at the response_url
	}{
		{name: "after 30 minutes, caller's own webhook", user: opsUser,
			prepare:  func(b *bundle, _ string) { b.clock.Advance(31 * time.Minute) },
			wantHook: func(b *bundle) string { return b.opsHook }},
		{name: "after 30 minutes, SLACK_FALLBACK_WEBHOOK_URL", user: netUser,
			prepare:  func(b *bundle, _ string) { b.clock.Advance(30 * time.Minute) },
			wantHook: func(b *bundle) string { return b.fallback }},
		{name: "Slack says expired_url", user: netUser,
			prepare:  func(b *bundle, u string) { b.slack.Fail(u, 1, http.StatusNotFound, 0) },
			wantHook: func(b *bundle) string { return b.fallback }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			id, c := b.queueFrom(tc.user, `peering p-1 environment=env-net`)
			tc.prepare(b, c.ResponseURL)
			if err := b.deliver(b.finish(id, change.StateFailed)); err != nil {
				t.Fatal(err)
			}
			if n := len(b.slack.Posts(c.ResponseURL)); n != tc.wantPosts {
				t.Errorf("%d posts at the response_url, want %d", n, tc.wantPosts)
			}
			posts := b.slack.Posts(tc.wantHook(b))
			if len(posts) != 1 {
				t.Fatalf("%d posts at the fallback webhook, want 1", len(posts))
			}
			got := text(posts[0].Message)
			if !strings.Contains(got, jsonEscape("<@"+tc.user+">")) || !strings.Contains(got, id) || retryButton(posts[0].Message) == nil {
				t.Errorf("fallback message: %s", got)
			}
		})
	}
}

func TestFivePostsThenFallback(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id, c := b.queueFrom(netUser, `peering p-1 environment=env-net`)
	rec := b.finish(id, change.StateFailed)
	// The same response_url used for five results (retries through the
	// command keep it), then the sixth goes to the fallback webhook.
	for range 6 {
		if err := b.deliver(rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.slack.Attempts(c.ResponseURL); n != 5 {
		t.Errorf("%d posts to the response_url, want Slack's 5", n)
	}
	if n := len(b.slack.Posts(b.fallback)); n != 1 {
		t.Errorf("%d posts to the fallback, want 1", n)
	}
}

func TestDeliveryErrors(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id, c := b.queueFrom(netUser, `peering p-1 environment=env-net`)
	rec := b.finish(id, change.StateSucceeded)

	b.slack.Fail(c.ResponseURL, 1, http.StatusTooManyRequests, 7)
	err := b.deliver(rec)
	if after, ok := notify.IsRetryable(err); !ok || after != 7*time.Second {
		t.Fatalf("429: %v (after %s, retryable %v), want retryable after 7s", err, after, ok)
	}
	b.slack.Fail(c.ResponseURL, 1, http.StatusServiceUnavailable, 0)
	if _, ok := notify.IsRetryable(b.deliver(rec)); !ok {
		t.Fatal("503 is not retryable")
	}
	if err := b.deliver(rec); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if n := len(b.slack.Posts(c.ResponseURL)); n != 1 {
		t.Errorf("%d results posted, want 1", n)
	}

	// No fallback anywhere: a permanent error that says so, never silence.
	cfg := b.config()
	cfg.FallbackWebhookURL = ""
	id2, c2 := b.queueFrom(netUser, `peering p-2 environment=env-net`)
	b.slack.Fail(c2.ResponseURL, 1, http.StatusNotFound, 0)
	dest := newDestination(t, b, cfg)
	ev := events.New(b.finish(id2, change.StateSucceeded), time.Now(), "")
	err = dest.Deliver(context.Background(), ev, nil)
	if _, retry := notify.IsRetryable(err); err == nil || retry || !strings.Contains(err.Error(), "no fallback webhook") {
		t.Fatalf("without a fallback: %v", err)
	}
	if strings.Contains(err.Error(), c2.ResponseURL) {
		t.Error("the error shows the response_url")
	}

	// A response_url on a host that is not allowed is never posted to.
	cfg = b.config()
	cfg.AllowedHosts = []string{"hooks.slack.com"}
	cfg.FallbackWebhookURL = ""
	id3, c3 := b.queueFrom(netUser, `peering p-3 environment=env-net`)
	dest = newDestination(t, b, cfg)
	err = dest.Deliver(context.Background(), events.New(b.finish(id3, change.StateSucceeded), time.Now(), ""), nil)
	if _, retry := notify.IsRetryable(err); err == nil || retry {
		t.Fatalf("delivered, or retrying, to a host outside SLACK_ALLOWED_HOSTS: %v", err)
	}
	if n := b.slack.Attempts(c3.ResponseURL); n != 0 {
		t.Errorf("%d posts to a host outside the allowlist", n)
	}
}

// TestLongErrorFitsBlockKit: an upstream error longer than Block Kit takes
// is cut, so Slack accepts the result.
func TestLongErrorFitsBlockKit(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id, c := b.queueFrom(netUser, `peering p-1 environment=env-net`)
	rec := b.finish(id, change.StateFailed)
	rec.Error.Detail = strings.Repeat("very long upstream error ", 400)
	if err := b.deliver(rec); err != nil {
		t.Fatal(err)
	}
	if n := len(b.slack.Posts(c.ResponseURL)); n != 1 {
		t.Fatalf("%d posts accepted by Slack, want 1", n)
	}
}
