package ccloudsim_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/testkit"
)

func TestOverlapsReportsConcurrentRequestsToOneResource(t *testing.T) {
	sim, srv := testkit.CCloudSim(t, ccloudsim.Options{Credentials: map[string]string{"k": "s"}})
	sim.SeedPeering(ccloudsim.Peering{ID: "p-1", EnvironmentID: "env-1", NetworkID: "n-1", Phase: "READY",
		Cloud: map[string]any{"kind": "AwsPeering", "account": "000000000000", "vpc": "vpc-1", "routes": []any{"10.0.0.0/16"}, "customer_region": "us-east-1"}})
	patch := func(path string) {
		req, _ := http.NewRequest(http.MethodPatch, srv.URL+path, bytes.NewReader([]byte(`{"spec":{"environment":{"id":"env-1"}}}`)))
		req.SetBasicAuth("k", "s")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}
	// One at a time: no overlap.
	patch("/networking/v1/peerings/p-1")
	patch("/networking/v1/peerings/p-1")
	if o := sim.Overlaps(); len(o) != 0 {
		t.Fatalf("sequential requests reported as overlapping: %+v", o)
	}
	// Two at once, each slowed down: one overlap; another path does not count.
	sim.SetFaults(ccloudsim.Faults{SlowRate: 1, SlowDelay: 200 * time.Millisecond})
	var wg sync.WaitGroup
	for _, p := range []string{"/networking/v1/peerings/p-1", "/networking/v1/peerings/p-1", "/networking/v1/peerings/p-2"} {
		wg.Add(1)
		go func() { defer wg.Done(); patch(p) }()
	}
	wg.Wait()
	o := sim.Overlaps()
	if len(o) != 1 || o[0].Path != "/networking/v1/peerings/p-1" {
		t.Fatalf("overlaps %+v, want one on p-1", o)
	}
	if sim.InFlight() != 0 {
		t.Fatalf("in flight %d", sim.InFlight())
	}
}
