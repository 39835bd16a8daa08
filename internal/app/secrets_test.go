package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
)

// Secrets sent through the stack in TestNoSecretLeaks.
const (
	leakSlackURL   = "https://hooks.slack.com/services/T9/B9/LEAKSLACKPATH"
	leakTeamsURL   = "https://contoso.webhook.office.com/webhookb2/LEAKTEAMSPATH/IncomingWebhook/x"
	leakHookPass   = "LEAKHOOKPASS"
	leakHookQuery  = "LEAKHOOKQUERY"
	leakWebhookURL = "https://alice:" + leakHookPass + "@hooks.example.com/in?token=" + leakHookQuery
)

// echoingUpstream answers some paths with errors that echo the request
// body (webhook URLs included), as a careless upstream might, and hands
// everything else to the simulator.
func echoingUpstream(t *testing.T, sim http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := 0
		switch r.URL.Path {
		case "/notifications/v1/integrations/i-echo422":
			status = http.StatusUnprocessableEntity
		case "/notifications/v1/integrations/i-echo500":
			status = http.StatusInternalServerError
		default:
			sim.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		env := map[string]any{"errors": []map[string]any{{
			"id": "err-1", "status": strconv.Itoa(status), "code": "bad_target",
			"title":  "Target " + string(body) + " rejected",
			"detail": "could not deliver to the target in " + string(body) + " (Authorization: Bearer LEAKUPSTREAMTOKEN-0123456789)",
			"source": map[string]string{"pointer": "/target"},
		}}}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-echo")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(env)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNoSecretLeaks runs changes carrying every kind of secret through the
// whole stack, successes and failures (permanent, retried until the budget
// ran out, refused at the intake), and then looks for the secrets in every
// log line, every event and every record.
func TestNoSecretLeaks(t *testing.T) {
	st := securedStack(t)
	st.sim.SeedIntegration(ccloudsim.Integration{ID: "i-teams", DisplayName: "teams",
		Target: map[string]any{"kind": "MsTeams", "webhook_url": "https://contoso.webhook.office.com/webhookb2/OLD"}})
	st.sim.SeedIntegration(ccloudsim.Integration{ID: "i-hook", DisplayName: "hook",
		Target: map[string]any{"kind": "Webhook", "url": "https://hooks.example.com/old"}})
	up := echoingUpstream(t, st.sim)
	cfg := st.workerConfig()
	cfg.CCloud.URL = up.URL
	st.startWorker(cfg)

	slack := `{"display_name":"alerts","target":{"kind":"Slack","webhook_url":"` + leakSlackURL + `"}}`
	teams := `{"target":{"kind":"MsTeams","webhook_url":"` + leakTeamsURL + `"}}`
	hook := `{"target":{"kind":"Webhook","url":"` + leakWebhookURL + `"}}`
	var ids []string
	submit := func(path, body string, h http.Header) {
		t.Helper()
		resp, data := st.send(http.MethodPatch, path, h, body)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("PATCH %s: %d %s", path, resp.StatusCode, data)
		}
		var rec change.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	submit("/notifications/v1/integrations/i-1", slack, bearerJSON(testToken))                          // succeeds
	submit("/notifications/v1/integrations/i-teams", teams, bearerJSON("other-token-0123456789abcdef")) // succeeds
	submit("/notifications/v1/integrations/i-hook", hook, bearerJSON(testToken, "X-Patchbay-Reason", "new hook "+leakWebhookURL))
	submit("/notifications/v1/integrations/i-echo422", slack, bearerJSON(testToken)) // fails at once
	submit("/notifications/v1/integrations/i-echo500", hook, bearerJSON(testToken))  // retried, then gives up
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	submit("/notifications/v1/integrations/i-echo422", teams, signedJSON(timedSecret, teams, ts)) // signed, fails
	submit("/notifications/v1/integrations/i-role", slack, bearerJSON(testToken))                 // the simulator's own 422

	// Refused at the intake: the body (with its secret) is never echoed.
	for _, body := range []string{
		`{"target":{"kind":"Slack","webhook_url":"` + leakSlackURL + `","extra":"` + leakSlackURL + `"}}`,
		`{"target":{"kind":"RoleEmail","webhook_url":"` + leakSlackURL + `"}}`,
	} {
		resp, data := st.send(http.MethodPatch, "/notifications/v1/integrations/i-1", bearerJSON(testToken), body)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad body: %d %s", resp.StatusCode, data)
		}
		assertNoSecret(t, "intake error response", string(data))
	}
	resp, data := st.send(http.MethodPatch, "/notifications/v1/integrations/i-1",
		signedJSON("forged-"+timedSecret, slack, ts), slack)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d %s", resp.StatusCode, data)
	}
	assertNoSecret(t, "intake error response", string(data))

	wantState := []change.State{change.StateSucceeded, change.StateSucceeded, change.StateSucceeded,
		change.StateFailed, change.StateFailed, change.StateFailed, change.StateFailed}
	for i, id := range ids {
		rec := st.waitTerminal(id, 30*time.Second)
		if rec.State != wantState[i] {
			t.Fatalf("change %d (%s) ended %s, want %s: %+v", i, rec.Resource.Path, rec.State, wantState[i], rec.Error)
		}
		_, raw := st.do(http.MethodGet, "/v1/changes/"+id, testToken, "", nil, nil)
		assertNoSecret(t, "record "+rec.Resource.Path, string(raw))
	}
	// The failures kept their meaning without the secrets.
	echo := st.waitTerminal(ids[3], time.Second)
	if echo.Error == nil || echo.Error.Code != "bad_target" || echo.Error.Status != "422" || !strings.Contains(echo.Error.Detail, "[REDACTED]") {
		t.Fatalf("echoing 422 error: %+v", echo.Error)
	}
	if gaveUp := st.waitTerminal(ids[4], time.Second); gaveUp.Error == nil || gaveUp.Error.Code != "max_attempts_exceeded" || len(gaveUp.Attempts) < 2 {
		t.Fatalf("echoing 500: %+v", gaveUp.Error)
	}
	if hookRec := st.waitTerminal(ids[2], time.Second); !strings.Contains(string(hookRec.Result), "hooks.example.com/in") {
		t.Fatalf("webhook result lost its host and path: %s", hookRec.Result)
	}

	// Every event, including the retrying ones.
	st.waitEvents(ids, 1, 20*time.Second)
	for _, ev := range st.allEvents() {
		assertNoSecret(t, "event", ev)
	}
	logs := st.logs.String()
	if !strings.Contains(logs, `"msg":"change accepted"`) || !strings.Contains(logs, `"process":"worker"`) {
		t.Fatalf("expected log lines missing:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		assertNoSecret(t, "log line", line)
	}
}

// secretNeedles are the strings that must never be seen outside the
// request that carried them and the upstream that needs them.
func secretNeedles() []string {
	return []string{
		"LEAKSLACKPATH", "LEAKTEAMSPATH", leakHookPass, leakHookQuery, "SECRETSLACK", "LEAKUPSTREAMTOKEN",
		testToken, "other-token-0123456789abcdef", peeringToken, simSecret,
		base64.StdEncoding.EncodeToString([]byte(simKey + ":" + simSecret)),
		githubSecret, timedSecret,
	}
}

func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, needle := range secretNeedles() {
		if strings.Contains(s, needle) {
			t.Fatalf("%s leaks %q: %s", where, needle, s)
		}
	}
}

// allEvents returns the raw data of every message in the events stream.
func (st *stack) allEvents() []string {
	st.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, info := st.stream(ctx, topology.EventsStream)
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			st.t.Fatalf("event %d: %v", seq, err)
		}
		out = append(out, string(m.Data))
	}
	return out
}
