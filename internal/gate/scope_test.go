package gate_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/testkit"
)

// With a rate-limit scope, credentials share one gate: after a 429 seen
// with one API key, a worker restarted with a rotated key or a new access
// token still waits out the Retry-After of the organisation-wide limit.
// Without a scope each credential has its own gate.
func TestScopeKeepsTheGateAcrossCredentials(t *testing.T) {
	const token = "tok-long-bearer-token-value"
	cases := []struct {
		name        string
		scope       string
		next        ccloud.Config
		wantBlocked bool
	}{
		{name: "per credential by default: a new key has its own gate", next: ccloud.Config{APIKey: "KEY2", APISecret: "secret-2"}},
		{name: "scope: a rotated API key keeps the gate", scope: "org-main", next: ccloud.Config{APIKey: "KEY2", APISecret: "secret-2"}, wantBlocked: true},
		{name: "scope: a new access token keeps the gate", scope: "org-main", next: ccloud.Config{AccessToken: token}, wantBlocked: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(t)
			sim, ts := testkit.CCloudSim(t, ccloudsim.Options{RateLimit: 3, RatePeriod: 2 * time.Second, RateLimitShared: true,
				Credentials: map[string]string{simKey: simSecret, "KEY2": "secret-2"}, Tokens: []string{token}})
			sim.SeedDemo()
			cfg := gate.DefaultConfig()
			cfg.Scope = c.scope
			before := newWorker(t, f.gate(cfg, time.Now), ts.URL, ccloud.Config{APIKey: simKey, APISecret: simSecret}, time.Now)
			ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
			defer cancel()
			exhaust(t, ts.URL, simKey, simSecret)
			if resp, err := before.send(ctx, 1); err != nil || resp.Status != http.StatusTooManyRequests {
				t.Fatalf("before the rotation: %+v %v, want a 429", resp, err)
			}

			// A new worker process with the new credential.
			after := newWorker(t, f.gate(cfg, time.Now), ts.URL, c.next, time.Now)
			d, err := after.g.Reserve(ctx, after.up.CredentialID())
			if err != nil {
				t.Fatal(err)
			}
			if d.Blocked != c.wantBlocked {
				t.Fatalf("new credential's first reservation %+v, want blocked %v", d, c.wantBlocked)
			}
			if !c.wantBlocked {
				return // it would send into the shared Retry-After: that is what a scope is for
			}
			for i := range 2 {
				if resp, err := after.send(ctx, 2+i); err != nil || resp.Status != http.StatusOK {
					t.Fatalf("after the rotation, change %d: %+v %v", i, resp, err)
				}
			}
			if v := sim.Violations(); v != 0 {
				t.Fatalf("%d requests reached the simulator during the organisation's Retry-After", v)
			}
		})
	}
}
