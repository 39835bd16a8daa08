package slackapp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/slacksim"
	"github.com/patchbay/patchbay/internal/testkit"
)

// click sends a signed click on the Retry button of change id by user.
func (b *bundle) click(user, id, responseURL string) int {
	b.t.Helper()
	form, err := slacksim.ButtonClick{TeamID: team, UserID: user, ChannelID: "C0OPS", ActionID: "patchbay_retry",
		Value: id, ResponseURL: responseURL, TriggerID: "click"}.Form()
	if err != nil {
		b.t.Fatal(err)
	}
	rec := b.send(b.handler.ServeInteraction, form, time.Now(), nil)
	return rec.Code
}

// answerAt waits for the n-th post at url and returns its text.
func (b *bundle) answerAt(url string, n int) string {
	b.t.Helper()
	testkit.Eventually(b.t, 5*time.Second, "answer posted to the click's response_url", func() (bool, string) {
		return len(b.slack.Posts(url)) >= n, ""
	})
	return text(b.slack.Posts(url)[n-1].Message)
}

func TestRetryButton(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id, c := b.queueFrom(netUser, `peering p-1 environment=env-net`)
	if err := b.deliver(b.finish(id, change.StateFailed)); err != nil {
		t.Fatal(err)
	}
	btn := retryButton(b.slack.Posts(c.ResponseURL)[0].Message)
	if btn == nil {
		t.Fatal("no Retry button on the failed result")
	}

	// Clicked by a user whose caller may not retry, and by a stranger:
	// refused, nothing re-queued.
	for i, user := range []string{readUser, strangerUser} {
		clickURL := b.slack.NewResponseURL()
		before := b.queued()
		if code := b.click(user, btn.Value, clickURL); code != http.StatusOK {
			t.Fatalf("click answered %d", code)
		}
		if got := b.answerAt(clickURL, 1); !strings.Contains(got, []string{"may not retry", "not a Patchbay user"}[i]) {
			t.Errorf("%s's click: %s", user, got)
		}
		if b.queued() != before {
			t.Errorf("%s's click re-queued the change", user)
		}
	}

	// Clicked by the requester: re-queued, answered at the click's
	// response_url, and the new result goes there too.
	clickURL := b.slack.NewResponseURL()
	before := b.queued()
	if code := b.click(netUser, btn.Value, clickURL); code != http.StatusOK {
		t.Fatalf("click answered %d", code)
	}
	if got := b.answerAt(clickURL, 1); !strings.Contains(got, "Re-queued change") || !strings.Contains(got, id) {
		t.Errorf("answer to the click: %s", got)
	}
	rec, _, _ := b.records.Get(context.Background(), id)
	if rec.State != change.StateQueued || rec.Generation != 1 || b.queued() != before+1 {
		t.Fatalf("after the click: %s generation %d, queued +%d", rec.State, rec.Generation, b.queued()-before)
	}
	if err := b.deliver(b.finish(id, change.StateSucceeded)); err != nil {
		t.Fatal(err)
	}
	if got := b.answerAt(clickURL, 2); !strings.Contains(got, "succeeded") {
		t.Errorf("result of the retry: %s", got)
	}
	if n := len(b.slack.Posts(c.ResponseURL)); n != 1 {
		t.Errorf("the first command's response_url got %d posts, want only the first result", n)
	}

	// A second click on the same (now succeeded) change does nothing.
	again := b.slack.NewResponseURL()
	before = b.queued()
	b.click(netUser, btn.Value, again)
	if got := b.answerAt(again, 1); !strings.Contains(got, "only a failed change") {
		t.Errorf("second click: %s", got)
	}
	if b.queued() != before {
		t.Error("a second click re-queued the change")
	}
}

func TestRetryButtonBeyondEnvironment(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	// ops (any environment) queued a peering in env-prod; net (env-net
	// only) clicks Retry on it.
	id, _ := b.queueFrom(opsUser, `peering p-1 environment=env-prod`)
	b.finish(id, change.StateFailed)
	clickURL := b.slack.NewResponseURL()
	before := b.queued()
	b.click(netUser, id, clickURL)
	if got := b.answerAt(clickURL, 1); !strings.Contains(got, "may not retry change") {
		t.Errorf("answer: %s", got)
	}
	if b.queued() != before {
		t.Error("re-queued beyond the clicking user's environments")
	}
}
