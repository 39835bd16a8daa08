package slacksim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/slacksim"
)

// TestSignerMatchesSlackGo: requests signed by the simulator pass
// slack-go's verifier, and parse as Slack's commands and interactions.
func TestSignerMatchesSlackGo(t *testing.T) {
	t.Parallel()
	s := slacksim.Signer{Secret: "sim-secret-0123456789"}
	cmd := slacksim.Command{TeamID: "T1", UserID: "U1", Text: `peering p-1 display_name="a b"`, ResponseURL: "http://x/response/1", TriggerID: "tr"}
	click, err := slacksim.ButtonClick{TeamID: "T1", UserID: "U1", ActionID: "patchbay_retry", Value: "chg_x", ResponseURL: "http://x/r"}.Form()
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string]map[string][]string{"command": cmd.Form(), "click": click} {
		req, err := s.Request("http://app/slack", form, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(req.Body)
		sv, err := slack.NewSecretsVerifier(req.Header, s.Secret)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, _ = sv.Write(body)
		if err := sv.Ensure(); err != nil {
			t.Fatalf("%s: signature: %v", name, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if name == "command" {
			sc, err := slack.SlashCommandParse(req)
			if err != nil || sc.Text != cmd.Text || sc.TeamID != "T1" || sc.Command != "/patchbay" || sc.ResponseURL != cmd.ResponseURL {
				t.Errorf("command parsed as %+v, %v", sc, err)
			}
			continue
		}
		ic, err := slack.InteractionCallbackParse(req)
		if err != nil || ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 ||
			ic.ActionCallback.BlockActions[0].Value != "chg_x" || ic.Team.ID != "T1" || ic.User.ID != "U1" || ic.ResponseURL != "http://x/r" {
			t.Errorf("click parsed as %+v, %v", ic, err)
		}
	}
	old, _ := s.Request("http://app/slack", cmd.Form(), time.Now().Add(-6*time.Minute))
	if _, err := slack.NewSecretsVerifier(old.Header, s.Secret); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Errorf("a 6-minute-old signature: %v", err)
	}
}

// TestResponseURLLimits: 5 posts within 30 minutes, then 404 as Slack
// answers; canned 429s with Retry-After; webhooks without limits.
func TestResponseURLLimits(t *testing.T) {
	t.Parallel()
	clock := clocktest.New(time.Now())
	sim := slacksim.New("", clock.Now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBase(srv.URL)
	post := func(u string) (int, string) {
		t.Helper()
		err := slack.PostWebhookContext(context.Background(), u, &slack.WebhookMessage{Text: "hi"})
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		switch {
		case err == nil:
			return 200, ""
		case errors.As(err, &rl):
			return 429, rl.RetryAfter.String()
		case errors.As(err, &sc):
			return sc.Code, ""
		default:
			t.Fatal(err)
			return 0, ""
		}
	}
	used := sim.NewResponseURL()
	sim.Fail(used, 1, http.StatusTooManyRequests, 3)
	if code, after := post(used); code != 429 || after != "3s" {
		t.Errorf("canned 429: %d %s", code, after)
	}
	for i := range 5 {
		if code, _ := post(used); code != 200 {
			t.Fatalf("post %d: %d", i+1, code)
		}
	}
	if code, _ := post(used); code != 404 {
		t.Errorf("sixth post: %d, want 404 used_url", code)
	}
	if n := len(sim.Posts(used)); n != 5 {
		t.Errorf("%d posts kept", n)
	}

	long := sim.NewWebhookURL()
	tooLong := &slack.WebhookMessage{Blocks: &slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)}}}
	var sc slack.StatusCodeError
	if err := slack.PostWebhookContext(context.Background(), long, tooLong); !errors.As(err, &sc) || sc.Code != 400 {
		t.Errorf("a 3001-character section: %v, want 400 invalid_blocks", err)
	}

	expiring, hook := sim.NewResponseURL(), sim.NewWebhookURL()
	clock.Advance(30 * time.Minute)
	if code, _ := post(expiring); code != 404 {
		t.Errorf("after 30 minutes: %d, want 404 expired_url", code)
	}
	for range 7 {
		if code, _ := post(hook); code != 200 {
			t.Fatalf("webhook: %d", code)
		}
	}
	if code, _ := post(srv.URL + "/response/unknown"); code != 404 {
		t.Errorf("unknown URL: %d", code)
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if list, _ := io.ReadAll(resp.Body); bytes.Count(list, []byte("\n")) != 12 {
		t.Errorf("GET / lists %d messages, want 12", bytes.Count(list, []byte("\n")))
	}
}
