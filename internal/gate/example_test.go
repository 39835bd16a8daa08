package gate_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/natsembed"
)

// Example shows the gate's contract with a worker: reserve a start slot,
// call, report the answer. After a 429 with Retry-After, every gate on the
// same bucket (any worker process) is closed until it has elapsed.
func Example() {
	dir, _ := os.MkdirTemp("", "gate-example")
	defer os.RemoveAll(dir)
	srv, err := natsembed.Start(natsembed.Options{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	nc, _ := nats.Connect(srv.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	// topology.Ensure creates this bucket in production.
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: gate.Bucket}); err != nil {
		panic(err)
	}
	g, err := gate.New(ctx, js, gate.DefaultConfig(), time.Now)
	if err != nil {
		panic(err)
	}

	d, _ := g.Reserve(ctx, "KEY1")
	fmt.Println("first call reserved:", d.Reserved)

	// The upstream answered 429 with Retry-After: 30.
	_ = g.Observe(ctx, "KEY1", 429, ccloud.RateLimit{RetryAfter: 30 * time.Second, HasRetryAfter: true}, time.Second)
	d, _ = g.Reserve(ctx, "KEY1")
	fmt.Println("after the 429: reserved", d.Reserved, "blocked", d.Blocked,
		"for about", d.RetryAt.Sub(time.Now()).Round(10*time.Second))
	// Output:
	// first call reserved: true
	// after the 429: reserved false blocked true for about 30s
}
