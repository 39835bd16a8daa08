package replay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/testkit"
	"github.com/patchbay/patchbay/internal/topology"
)

func TestDeliveries(t *testing.T) {
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := replay.NewDeliveries(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := d.Remember(ctx, "github", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		caller   string
		delivery string
		want     error
	}{
		{name: "same caller, same id is a replay", caller: "github", delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", want: replay.ErrReplayed},
		{name: "another caller's id space is separate", caller: "jira", delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
		{name: "ids with KV-unsafe characters are fine", caller: "github", delivery: "a.b*c>d e/f"},
		{name: "and are remembered too", caller: "github", delivery: "a.b*c>d e/f", want: replay.ErrReplayed},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if _, err := d.Remember(ctx, s.caller, s.delivery); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
				t.Fatalf("Remember = %v, want %v", err, s.want)
			}
		})
	}
	// Forgetting (the change could not be queued) lets the sender retry.
	if err := d.Forget(ctx, "github", "72d3162e-cc78-11e3-81ab-4c9367dc0958", rev); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Remember(ctx, "github", "72d3162e-cc78-11e3-81ab-4c9367dc0958"); err != nil {
		t.Fatalf("Remember after Forget = %v", err)
	}
	// The bucket forgets by itself after the TTL.
	kv, err := js.KeyValue(ctx, topology.DeliveriesBucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != topology.DefaultTopology().DeliveryTTL {
		t.Fatalf("bucket TTL %s, want %s", st.TTL(), topology.DefaultTopology().DeliveryTTL)
	}
}
