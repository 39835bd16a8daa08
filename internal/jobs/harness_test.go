package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/jobs"
	"github.com/patchbay/patchbay/internal/natsembed"
)

// startNATS starts a real embedded JetStream server for one test.
func startNATS(t testing.TB) (*server.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	return natsembed.StartTB(t)
}

func ensureTopology(t testing.TB, js jetstream.JetStream, partitions int) jobs.Topology {
	t.Helper()
	topo := jobs.DefaultTopology()
	topo.Partitions = partitions
	topo.AckWait = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := jobs.Ensure(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	return topo
}
