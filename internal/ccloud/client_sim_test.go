package ccloud_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/testkit"
)

// fakeClock is the shared settable test clock, used by the simulator and the client.
type fakeClock = clocktest.Clock

// simBundle is a simulator, its server, a client of it and their clock.
type simBundle struct {
	sim    *ccloudsim.Server
	url    string
	client *ccloud.Client
	clock  *fakeClock
}

// newSim starts a seeded simulator limited to rateLimit requests per 10s
// (0 = unlimited) and a Basic-auth client for it.
func newSim(t *testing.T, rateLimit int, mutate ...func(*ccloud.Config)) *simBundle {
	t.Helper()
	clock := clocktest.New(fixedNow())
	sim, ts := testkit.CCloudSim(t, ccloudsim.Options{
		Credentials: map[string]string{testKey: testSecret},
		Tokens:      []string{testToken},
		RateLimit:   rateLimit,
		RatePeriod:  10 * time.Second,
		Now:         clock.Now,
	})
	sim.SeedPeering(ccloudsim.Peering{ID: "p-1", DisplayName: "old", EnvironmentID: "env-1", NetworkID: "n-1",
		Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-1",
			"routes": []any{"10.108.16.0/21"}, "customer_region": "us-east-1"}})
	sim.SeedIntegration(ccloudsim.Integration{ID: "i-1", DisplayName: "Slack", Description: "d",
		Target: map[string]any{"kind": "Slack", "webhook_url": "https://hooks.slack.com/services/T0/B0/SIMSECRET"}})
	sim.SeedIntegration(ccloudsim.Integration{ID: "i-role", DisplayName: "Admins",
		Target: map[string]any{"kind": "RoleEmail", "role_name": "OrganizationAdmin"}})
	mutate = append([]func(*ccloud.Config){func(c *ccloud.Config) { c.Now = clock.Now }}, mutate...)
	return &simBundle{sim: sim, url: ts.URL, client: newClient(t, ts.URL, mutate...), clock: clock}
}

func TestClientAgainstSimulator(t *testing.T) {
	t.Parallel()
	const (
		peerBody     = `{"spec":{"display_name":"new","environment":{"id":"env-1"}}}`
		peerDupKey   = `{"spec":{"display_name":"a","display_name":"b","environment":{"id":"env-1"}}}`
		integTooLong = `{"display_name":"` + "0123456789012345678901234567890123456789012345678901234567890123456789" + `"}`
		peerPath     = "/networking/v1/peerings/p-1"
	)
	tests := []struct {
		name         string
		rateLimit    int
		setup        func(t *testing.T, b *simBundle)
		mutate       func(*ccloud.Config)
		op           ccloud.Operation
		id, body     string
		wantStatus   int
		want         outcome
		wantPointers []string
		wantCode     string
		wantLocation string
		wantWait     time.Duration
		wantRL       bool // X-RateLimit-* headers expected
	}{
		{name: "200 peering", rateLimit: 5, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 200, want: success, wantRL: true},
		{name: "200 integration", op: ccloud.UpdateIntegration, id: "i-1", body: `{"description":"new"}`,
			wantStatus: 200, want: success},
		{name: "400 duplicate key", op: ccloud.UpdatePeering, id: "p-1", body: peerDupKey,
			wantStatus: 400, want: permanent, wantPointers: []string{"/spec/display_name"}, wantCode: "duplicate_key"},
		{name: "401 wrong secret", mutate: func(c *ccloud.Config) { c.APISecret = "wrong" }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 401, want: permanent, wantPointers: []string{""}, wantCode: "user_unauthenticated"},
		{name: "401 unknown token", mutate: func(c *ccloud.Config) { c.AccessToken = "tok-unknown-123456" }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 401, want: permanent, wantPointers: []string{""}, wantCode: "user_unauthenticated"},
		{name: "402 fixed", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFixedResponse(peerPath, 402) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 402, want: permanent, wantPointers: []string{""}},
		{name: "403 fixed", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFixedResponse(peerPath, 403) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 403, want: permanent, wantPointers: []string{""}},
		{name: "404 unknown peering", op: ccloud.UpdatePeering, id: "p-404", body: peerBody,
			wantStatus: 404, want: permanent, wantPointers: []string{""}, wantCode: "resource_not_found"},
		{name: "404 other environment", op: ccloud.UpdatePeering, id: "p-1", body: `{"spec":{"environment":{"id":"env-2"}}}`,
			wantStatus: 404, want: permanent, wantPointers: []string{""}, wantCode: "resource_not_found"},
		{name: "409 fixed with Location", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFixedResponse(peerPath, 409) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 409, want: permanent, wantPointers: []string{""}, wantCode: "resource_already_exists",
			wantLocation: ccloudsim.DefaultBaseURL + peerPath},
		{name: "422 too long", op: ccloud.UpdateIntegration, id: "i-1", body: integTooLong,
			wantStatus: 422, want: permanent, wantPointers: []string{"/display_name"}},
		{name: "422 unknown and immutable fields", op: ccloud.UpdatePeering, id: "p-1",
			body:       `{"spec":{"environment":{"id":"env-1"},"cloud":{"kind":"AwsPeering"},"colour":"red"}}`,
			wantStatus: 422, want: permanent, wantPointers: []string{"/spec/cloud", "/spec/colour"}},
		{name: "422 not updatable kind", op: ccloud.UpdateIntegration, id: "i-role", body: `{"description":"x"}`,
			wantStatus: 422, want: permanent, wantPointers: []string{""}, wantCode: "not_updatable"},
		{name: "429 after the limit", rateLimit: 1, setup: func(t *testing.T, b *simBundle) {
			if _, err := b.client.Do(t.Context(), ccloud.UpdatePeering, "p-1", []byte(peerBody)); err != nil {
				t.Fatalf("first call: %v", err)
			}
		}, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 429, want: rateLimited, wantPointers: []string{""}, wantCode: "too_many_requests", wantWait: 10 * time.Second, wantRL: true},
		{name: "500 fault", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFaults(ccloudsim.Faults{Rate500: 1}) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 500, want: retryable, wantPointers: []string{""}},
		{name: "500 fixed", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFixedResponse(peerPath, 500) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 500, want: retryable, wantPointers: []string{""}},
		{name: "501 fixed", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFixedResponse(peerPath, 501) }, op: ccloud.UpdatePeering, id: "p-1", body: peerBody,
			wantStatus: 501, want: permanent, wantPointers: []string{""}},
		{name: "502 fault", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFaults(ccloudsim.Faults{Rate502: 1}) }, op: ccloud.UpdateIntegration, id: "i-1", body: `{}`,
			wantStatus: 502, want: retryable, wantPointers: []string{""}},
		{name: "503 fault", setup: func(_ *testing.T, b *simBundle) { b.sim.SetFaults(ccloudsim.Faults{Rate503: 1}) }, op: ccloud.UpdateIntegration, id: "i-1", body: `{}`,
			wantStatus: 503, want: retryable, wantPointers: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mutate []func(*ccloud.Config)
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			b := newSim(t, tt.rateLimit, mutate...)
			if tt.setup != nil {
				tt.setup(t, b)
			}
			resp, err := b.client.Do(t.Context(), tt.op, tt.id, []byte(tt.body))
			if got := classOf(t, err); got != tt.want {
				t.Fatalf("class = %v, want %v (err %v)", got, tt.want, err)
			}
			if resp == nil || resp.Status != tt.wantStatus {
				t.Fatalf("response = %+v, want status %d", resp, tt.wantStatus)
			}
			log := b.sim.Requests()
			last := log[len(log)-1]
			if resp.RequestID == "" || resp.RequestID != last.RequestID || last.Status != tt.wantStatus {
				t.Errorf("RequestID = %q, simulator logged %q with status %d", resp.RequestID, last.RequestID, last.Status)
			}
			if last.Method != "PATCH" || !strings.HasSuffix(last.Path, "/"+tt.id) || string(last.Body) != tt.body {
				t.Errorf("simulator saw %s %s %q", last.Method, last.Path, last.Body)
			}
			rl := resp.RateLimit
			if got := rl.HasLimit && rl.HasRemaining && rl.HasReset; got != tt.wantRL {
				t.Errorf("RateLimit = %+v, want headers=%v", rl, tt.wantRL)
			}
			if tt.wantRL && (rl.Limit != tt.rateLimit || rl.Reset <= 0 || rl.Reset > 10*time.Second) {
				t.Errorf("RateLimit = %+v", rl)
			}
			if tt.want == success {
				if len(resp.Body) == 0 || resp.Errors != nil {
					t.Errorf("2xx response = %+v", resp)
				}
				return
			}
			var pointers []string
			for _, e := range resp.Errors {
				p := ""
				if e.Source != nil {
					p = e.Source.Pointer
				}
				pointers = append(pointers, p)
				if e.ID != resp.RequestID || e.Status == "" {
					t.Errorf("envelope entry %+v does not carry the request id and status", e)
				}
			}
			if strings.Join(pointers, ",") != strings.Join(tt.wantPointers, ",") {
				t.Errorf("pointers = %q, want %q", pointers, tt.wantPointers)
			}
			if tt.wantCode != "" && resp.Errors[0].Code != tt.wantCode {
				t.Errorf("code = %q, want %q", resp.Errors[0].Code, tt.wantCode)
			}
			if resp.Location != tt.wantLocation {
				t.Errorf("Location = %q, want %q", resp.Location, tt.wantLocation)
			}
			assertFields(t, err, resp, tt.wantStatus, tt.wantWait)
			if tt.want == rateLimited && (!rl.HasRetryAfter || rl.RetryAfter != tt.wantWait || rl.Remaining != 0) {
				t.Errorf("429 RateLimit = %+v", rl)
			}
			assertNoSecrets(t, err.Error())
			if b.sim.Violations() != 0 {
				t.Errorf("violations = %d", b.sim.Violations())
			}
		})
	}
}

func TestSimulatorRateLimitRecovers(t *testing.T) {
	t.Parallel()
	b := newSim(t, 1, func(c *ccloud.Config) { c.AccessToken = testToken })
	body := []byte(`{"description":"x"}`)
	if _, err := b.client.Do(t.Context(), ccloud.UpdateIntegration, "i-1", body); err != nil {
		t.Fatal(err)
	}
	_, err := b.client.Do(t.Context(), ccloud.UpdateIntegration, "i-1", body)
	var rl *ccloud.RateLimitedError
	if !errors.As(err, &rl) || rl.Wait != 10*time.Second {
		t.Fatalf("second call: %v, want a 10s RateLimitedError", err)
	}
	// Waiting exactly Retry-After (on the shared fake clock) is enough.
	b.clock.Advance(rl.Wait)
	if _, err := b.client.Do(t.Context(), ccloud.UpdateIntegration, "i-1", body); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
	if v := b.sim.Violations(); v != 0 {
		t.Errorf("violations = %d", v)
	}
	for _, r := range b.sim.Requests() {
		if strings.Contains(r.Credential, testToken) || r.Credential == "" {
			t.Errorf("credential label %q", r.Credential)
		}
	}
}

func TestSimulatorTransportFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  ccloudsim.Faults
		timeout time.Duration
		wantIs  error
	}{
		{name: "dropped connection", faults: ccloudsim.Faults{DropRate: 1}},
		{name: "slow beyond the timeout", faults: ccloudsim.Faults{SlowRate: 1, SlowDelay: time.Hour},
			timeout: 50 * time.Millisecond, wantIs: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newSim(t, 0, func(c *ccloud.Config) {
				if tt.timeout > 0 {
					c.Timeout = tt.timeout
				}
			})
			b.sim.SetFaults(tt.faults)
			resp, err := b.client.Do(t.Context(), ccloud.UpdatePeering, "p-1", []byte(`{"spec":{"environment":{"id":"env-1"}}}`))
			var re *ccloud.RetryableError
			if !errors.As(err, &re) || resp != nil || re.Status != 0 {
				t.Fatalf("Do = %v, %T %v; want nil, *RetryableError", resp, err, err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v) false for %v", tt.wantIs, err)
			}
			if n := len(b.sim.Requests()); n != 1 {
				t.Errorf("simulator saw %d requests, want 1 (no retries)", n)
			}
		})
	}
}

func TestSimulatorPathInjection(t *testing.T) {
	t.Parallel()
	b := newSim(t, 0)
	for _, op := range []ccloud.Operation{ccloud.UpdatePeering, ccloud.UpdateIntegration} {
		for _, id := range injectionIDs() {
			resp, err := b.client.Do(t.Context(), op, id, []byte(`{"spec":{"environment":{"id":"env-1"}}}`))
			if !errors.Is(err, ccloud.ErrInvalidID) || resp != nil {
				t.Errorf("%s %q: %v, %v", op, id, resp, err)
			}
		}
	}
	if reqs := b.sim.Requests(); len(reqs) != 0 {
		t.Fatalf("simulator saw %d requests: %+v", len(reqs), reqs)
	}
}
