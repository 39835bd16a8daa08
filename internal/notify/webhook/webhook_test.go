package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/events"
	"github.com/patchbay/patchbay/internal/notify"
	"github.com/patchbay/patchbay/internal/notify/route"
	"github.com/patchbay/patchbay/internal/notify/webhook"
	"github.com/patchbay/patchbay/internal/outbound"
)

// The Standard Webhooks specification's published test vector.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// A second secret, as during a rotation.
	nextSecret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"
)

// capture records the request instead of sending it.
type capture struct {
	req  *http.Request
	body []byte
	code int
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	c.req = r
	c.body, _ = io.ReadAll(r.Body)
	code := c.code
	if code == 0 {
		code = 204
	}
	return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}, nil
}

var policy = outbound.Policy{AllowedHosts: []string{"hooks.example.com"}}

func newWebhook(t *testing.T, secretValue string, c *capture, now time.Time) *webhook.Webhook {
	t.Helper()
	table, err := route.Parse([]byte(`{"callers":[{"name":"ops","notify":{"webhook":{"url":"https://hooks.example.com/cb","secret_env":"CB"}}}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	w, err := webhook.New(table, policy, c, func(k string) (string, bool) { return secretValue, k == "CB" }, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func event(id string) events.Event {
	return events.Event{ID: id, Data: change.Record{ID: "chg_x", RequestedBy: "ops", State: change.StateSucceeded}}
}

func TestSignsTheSpecificationTestVector(t *testing.T) {
	c := &capture{}
	w := newWebhook(t, vectorSecret, c, time.Unix(vectorTimestamp, 0))
	if err := w.Deliver(context.Background(), event(vectorMsgID), []byte(vectorPayload)); err != nil {
		t.Fatal(err)
	}
	h := c.req.Header
	if h.Get("webhook-id") != vectorMsgID || h.Get("webhook-timestamp") != "1614265330" || h.Get("webhook-signature") != vectorSignature {
		t.Fatalf("headers %v, want the spec's vector %s", h, vectorSignature)
	}
	if string(c.body) != vectorPayload || c.req.URL.String() != "https://hooks.example.com/cb" || c.req.Method != http.MethodPost {
		t.Fatalf("request %s %s %q", c.req.Method, c.req.URL, c.body)
	}
}

func TestRotationSignsWithEverySecret(t *testing.T) {
	c := &capture{}
	now := time.Now()
	w := newWebhook(t, vectorSecret+" "+nextSecret, c, now)
	if err := w.Deliver(context.Background(), event("chg_x.g0.terminal"), []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	sigs := strings.Fields(c.req.Header.Get("webhook-signature"))
	if len(sigs) != 2 {
		t.Fatalf("signatures %v, want two", sigs)
	}
	for _, secret := range []string{vectorSecret, nextSecret} {
		v, _ := standardwebhooks.NewWebhook(secret)
		if err := v.Verify(c.body, c.req.Header); err != nil {
			t.Errorf("a receiver holding one of the secrets cannot verify: %v", err)
		}
	}
	wrong, _ := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("QUJD", 8))
	if err := wrong.Verify(c.body, c.req.Header); err == nil {
		t.Error("a wrong secret verifies")
	}
}

func TestResponses(t *testing.T) {
	for code, want := range map[int]string{204: "", 200: "", 410: "permanent", 400: "permanent", 429: "retry", 500: "retry"} {
		c := &capture{code: code}
		w := newWebhook(t, vectorSecret, c, time.Now())
		err := w.Deliver(context.Background(), event("e"), []byte(`{}`))
		_, retry := notify.IsRetryable(err)
		got := ""
		switch {
		case err != nil && retry:
			got = "retry"
		case err != nil:
			got = "permanent"
		}
		if got != want {
			t.Errorf("%d: %v (%s), want %s", code, err, got, want)
		}
	}
}

func TestConfigurationRefused(t *testing.T) {
	cases := map[string]string{
		"host not allowed": `{"url":"https://evil.example.net/cb","secret_env":"CB"}`,
		"plain http":       `{"url":"http://hooks.example.com/cb","secret_env":"CB"}`,
		"credentials":      `{"url":"https://u:p@hooks.example.com/cb","secret_env":"CB"}`,
		"no secret":        `{"url":"https://hooks.example.com/cb"}`,
		"unset secret":     `{"url":"https://hooks.example.com/cb","secret_env":"UNSET"}`,
		"unknown field":    `{"url":"https://hooks.example.com/cb","secret_env":"CB","secret":"x"}`,
		"bad events":       `{"url":"https://hooks.example.com/cb","secret_env":"CB","events":["queued"]}`,
	}
	for name, settings := range cases {
		table, err := route.Parse([]byte(`{"callers":[{"name":"ops","notify":{"webhook":`+settings+`}}]}`), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = webhook.New(table, policy, &capture{}, func(k string) (string, bool) { return vectorSecret, k == "CB" }, time.Now)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if err != nil && strings.Contains(err.Error(), "MfKQ9r8") {
			t.Errorf("%s: error shows the secret", name)
		}
	}
	_, err := webhook.New(mustTable(t, `{"url":"https://hooks.example.com/cb","secret_env":"CB"}`), policy, &capture{},
		func(string) (string, bool) { return "not-a-whsec-secret", true }, time.Now)
	if err == nil || strings.Contains(err.Error(), "not-a-whsec") {
		t.Errorf("a non-whsec secret: %v", err)
	}
	if !errors.Is(policy.CheckURL(mustURL("https://evil.example.net")), outbound.ErrNotAllowed) {
		t.Error("policy allows a host off the list")
	}
}
