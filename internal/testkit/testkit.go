// Package testkit is test support shared by Patchbay's packages: a real
// embedded NATS JetStream server per test, the Confluent Cloud simulator
// behind httptest, and Eventually for polling with a deadline. Only tests
// import it, so the shipped binaries never link package testing.
package testkit

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloudsim"
	"github.com/patchbay/patchbay/internal/testkit/natstest"
	"github.com/patchbay/patchbay/internal/topology"
)

// StartNATS starts a real embedded JetStream server for one test (data in
// t.TempDir()) and connects to it; both are closed by t.Cleanup.
func StartNATS(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	return natstest.Start(t)
}

// CCloudSim starts an httptest.Server around a new Confluent Cloud
// simulator and closes it when the test ends. Invalid options fail the test.
func CCloudSim(t testing.TB, opts ccloudsim.Options) (*ccloudsim.Server, *httptest.Server) {
	t.Helper()
	s, err := ccloudsim.New(opts)
	if err != nil {
		t.Fatalf("ccloudsim.New: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// Eventually polls cond every 10ms until it returns true, and fails the test
// with what (and the last poll's detail) if that does not happen within
// timeout. cond returns a detail string for the failure message.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout, detail)
		}
		<-tick.C
	}
}

// EnsureTopology creates Patchbay's streams, consumer and buckets on js
// with the default topology and a 5s AckWait.
func EnsureTopology(t testing.TB, js jetstream.JetStream) topology.Topology {
	t.Helper()
	topo := topology.DefaultTopology()
	topo.AckWait = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := topology.Ensure(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	return topo
}
