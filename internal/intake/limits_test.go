package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/testkit"
)

func TestRateLimitPerCaller(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	tokens, err := intake.ParseCallers("jira=" + jiraToken + ",bot=" + botToken)
	if err != nil {
		t.Fatal(err)
	}
	file, err := intake.ParseCallersFile([]byte(`{"callers":[{"name":"slow","token_sha256":"`+tokenHash(readerToken)+
		`","operations":["changes.read"],"rate_limit":0.5,"rate_burst":1}]}`), "", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	callers, err := tokens.Merge(file)
	if err != nil {
		t.Fatal(err)
	}
	b := newBundleWith(t, intake.Config{RateLimit: intake.RateLimit{Rate: 1, Burst: 2}}, callers, clock.Now)
	get := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/changes/"+change.NewID(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return b.do(t, req)
	}
	steps := []struct {
		name           string
		advance        time.Duration
		token          string
		want           int
		wantRetryAfter string
	}{
		{name: "jira 1 (burst)", token: jiraToken, want: 404},
		{name: "jira 2 (burst)", token: jiraToken, want: 404},
		{name: "jira 3 is over", token: jiraToken, want: 429, wantRetryAfter: "1"},
		{name: "bot has its own bucket", token: botToken, want: 404},
		{name: "half a second later jira is still over", advance: 500 * time.Millisecond, token: jiraToken, want: 429, wantRetryAfter: "1"},
		{name: "a second later jira has one request", advance: 500 * time.Millisecond, token: jiraToken, want: 404},
		{name: "and no more", token: jiraToken, want: 429},
		{name: "slow has its own limit: 1", token: readerToken, want: 404},
		{name: "slow: 2 is over, retry after 2s", token: readerToken, want: 429, wantRetryAfter: "2"},
		{name: "bad tokens are not limited but refused", token: "not-a-token-0123456789", want: 401},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		rec := get(s.token)
		if rec.Code != s.want {
			t.Fatalf("%s: status %d, want %d: %s", s.name, rec.Code, s.want, rec.Body)
		}
		if s.want == http.StatusTooManyRequests {
			e := envelope(t, rec)
			if e.Code != "rate_limited" || !strings.Contains(e.Detail, "retry after") {
				t.Fatalf("%s: envelope %+v", s.name, e)
			}
		}
		if s.wantRetryAfter != "" && rec.Header().Get("Retry-After") != s.wantRetryAfter {
			t.Fatalf("%s: Retry-After %q, want %q", s.name, rec.Header().Get("Retry-After"), s.wantRetryAfter)
		}
	}
}

func TestLongPollCap(t *testing.T) {
	t.Parallel()
	b := newBundle(t, intake.Config{MaxLongPolls: 1})
	rec := b.do(t, patchRequest(strings.NewReader(peeringBody), "application/json", jiraToken))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("PATCH = %d %s", rec.Code, rec.Body)
	}
	var queued change.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &queued); err != nil {
		t.Fatal(err)
	}
	poll := func(ctx context.Context, wait string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/changes/"+queued.ID+"?wait="+wait, nil)
		req.Header.Set("Authorization", "Bearer "+jiraToken)
		return b.do(t, req)
	}

	// The first long-poll takes the only slot and waits (the change stays
	// queued: there is no worker) until it is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var first *httptest.ResponseRecorder
	go func() {
		defer wg.Done()
		first = poll(ctx, "60s")
	}()
	testkit.Eventually(t, 10*time.Second, "the first long-poll waiting", func() (bool, string) {
		n := b.srv.InFlightLongPolls()
		return n == 1, fmt.Sprintf("%d in flight", n)
	})

	// The second is answered at once with the current record.
	start := time.Now()
	second := poll(context.Background(), "30s")
	if second.Code != http.StatusOK || second.Header().Get(intake.HeaderLongPoll) != "skipped" || second.Header().Get("Retry-After") != "1" {
		t.Fatalf("second long-poll = %d %v %s", second.Code, second.Header(), second.Body)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("second long-poll waited %s", elapsed)
	}
	var got change.Record
	if err := json.Unmarshal(second.Body.Bytes(), &got); err != nil || got.ID != queued.ID || got.State != change.StateQueued {
		t.Fatalf("second long-poll record = %+v, %v", got, err)
	}

	cancel()
	wg.Wait()
	if first.Code != http.StatusOK || first.Header().Get(intake.HeaderLongPoll) != "" {
		t.Fatalf("first long-poll = %d %v", first.Code, first.Header())
	}
	if n := b.srv.InFlightLongPolls(); n != 0 {
		t.Fatalf("%d long-polls still hold a slot", n)
	}
	// With the slot free again, a long-poll waits as usual (here briefly).
	if third := poll(context.Background(), "10ms"); third.Code != http.StatusOK || third.Header().Get(intake.HeaderLongPoll) != "" {
		t.Fatalf("third long-poll = %d %v", third.Code, third.Header())
	}
}
