package gate

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/clocktest"
	"github.com/patchbay/patchbay/internal/natsembed"
)

func TestLearn(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	limits := func(limit, remaining int, reset time.Duration) ccloud.RateLimit {
		return ccloud.RateLimit{Limit: limit, HasLimit: true, Remaining: remaining, HasRemaining: true, Reset: reset, HasReset: true}
	}
	cases := []struct {
		name        string
		prev        State
		status      int
		rl          ccloud.RateLimit
		wantBlocked time.Time
		wantChanged bool
		check       func(t *testing.T, s State)
	}{
		{name: "429 blocks for Retry-After", status: 429,
			rl:          ccloud.RateLimit{RetryAfter: 7 * time.Second, HasRetryAfter: true},
			wantBlocked: now.Add(7 * time.Second), wantChanged: true},
		{name: "429 without Retry-After uses Reset", status: 429,
			rl:          ccloud.RateLimit{Reset: 3 * time.Second, HasReset: true},
			wantBlocked: now.Add(3 * time.Second), wantChanged: true},
		{name: "429 with nothing uses the default", status: 429,
			wantBlocked: now.Add(time.Second), wantChanged: true},
		{name: "a shorter 429 never shortens a block", status: 429,
			prev:        State{BlockedUntil: now.Add(time.Minute)},
			rl:          ccloud.RateLimit{RetryAfter: time.Second, HasRetryAfter: true},
			wantBlocked: now.Add(time.Minute), wantChanged: false},
		{name: "limits learned", status: 200, rl: limits(20, 12, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.Learned || s.Unlimited || s.Limit != 20 || s.Period != time.Second {
					t.Fatalf("state %+v", s)
				}
				if got := s.interval(0, 0); got != 50*time.Millisecond {
					t.Fatalf("interval %s", got)
				}
			}},
		{name: "no headers means unlimited", status: 200, wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.Learned || !s.Unlimited {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "steady state is not rewritten", status: 200,
			prev: State{Learned: true, Limit: 20, Period: time.Second}, rl: limits(20, 12, time.Second), wantChanged: false},
		{name: "first of a window records its start", status: 200,
			prev: State{Learned: true, Limit: 20, Period: time.Second}, rl: limits(20, 19, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.WindowStart.Equal(now) {
					t.Fatalf("window start %v", s.WindowStart)
				}
			}},
		{name: "exhausted window waits for its known end", status: 200,
			prev:        State{Learned: true, Limit: 20, Period: time.Second, WindowStart: now.Add(-900 * time.Millisecond)},
			rl:          limits(20, 0, time.Second),
			wantBlocked: now.Add(100*time.Millisecond + windowSlack), wantChanged: true},
		{name: "exhausted window with unknown start waits Reset", status: 200,
			prev:        State{Learned: true, Limit: 20, Period: time.Second},
			rl:          limits(20, 0, 2*time.Second),
			wantBlocked: now.Add(2 * time.Second), wantChanged: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, changed := learn(c.prev, c.status, c.rl, now, time.Second)
			if changed != c.wantChanged {
				t.Fatalf("changed %v, want %v (%+v)", changed, c.wantChanged, got)
			}
			if !got.BlockedUntil.Equal(c.wantBlocked) {
				t.Fatalf("blocked until %v, want %v", got.BlockedUntil, c.wantBlocked)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

func newGates(t *testing.T, n int, clock *clocktest.Clock, cfg Config) []*Gate {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var gates []*Gate
	for i := 0; i < n; i++ {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket}); err != nil {
			t.Fatal(err)
		}
		g, err := New(ctx, js, cfg, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Watch(ctx); err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	return gates
}

func TestReserveSpacesSlotsAcrossGates(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gates := newGates(t, 3, clock, Config{Horizon: 10 * time.Second})
	ctx := context.Background()
	if err := gates[0].Observe(ctx, "key", 200, ccloud.RateLimit{Limit: 10, HasLimit: true, Remaining: 5, HasRemaining: true, Reset: time.Second, HasReset: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for i := 0; i < 12; i++ {
		d, err := gates[i%3].Reserve(ctx, "key")
		if err != nil {
			t.Fatal(err)
		}
		if !d.Reserved {
			t.Fatalf("reservation %d refused: %+v", i, d)
		}
		if i > 0 && d.SendAt.Sub(last) != 100*time.Millisecond {
			t.Fatalf("slot %d at %v, %v after the previous; want 100ms spacing from every gate", i, d.SendAt, d.SendAt.Sub(last))
		}
		last = d.SendAt
	}
	// Beyond the horizon nothing is reserved: the caller is told to come back.
	gates[0].cfg.Horizon = 500 * time.Millisecond
	d, err := gates[0].Reserve(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	if d.Reserved || !d.RetryAt.After(clock.Now()) {
		t.Fatalf("want a hand-back beyond the horizon, got %+v", d)
	}
}

func TestA429OnOneGateClosesAllOfThem(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gates := newGates(t, 2, clock, Config{Horizon: 2 * time.Second})
	ctx := context.Background()
	if err := gates[0].Observe(ctx, "key", 429, ccloud.RateLimit{RetryAfter: 5 * time.Second, HasRetryAfter: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	want := clock.Now().Add(5 * time.Second)
	// The other gate learns it through its watch: poll with a deadline.
	deadline := time.Now().Add(5 * time.Second)
	for !gates[1].Blocked("key").Equal(want) {
		if time.Now().After(deadline) {
			t.Fatalf("second gate never saw the block; has %v", gates[1].Blocked("key"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	d, err := gates[1].Reserve(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	if d.Reserved || !d.RetryAt.Equal(want) || !d.Blocked {
		t.Fatalf("reserve during a Retry-After: %+v", d)
	}
	// Other credentials are not affected.
	if d, _ := gates[1].Reserve(ctx, "other"); !d.Reserved {
		t.Fatalf("another credential was blocked: %+v", d)
	}
	// Once the Retry-After has elapsed the gate opens.
	clock.Set(want)
	if d, _ := gates[1].Reserve(ctx, "key"); !d.Reserved || d.SendAt.Before(want) {
		t.Fatalf("after the Retry-After: %+v", d)
	}
}

// A cold gate sends one probe and makes everyone else wait for its answer,
// instead of queueing probe-spaced slots that outlast the learned pace.
func TestColdGateSendsOneProbe(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	gates := newGates(t, 2, clock, Config{ProbeInterval: 250 * time.Millisecond, Horizon: 10 * time.Second})
	ctx := context.Background()
	reserved := 0
	for i := 0; i < 32; i++ {
		d, err := gates[i%2].Reserve(ctx, "key")
		if err != nil {
			t.Fatal(err)
		}
		if d.Reserved {
			reserved++
			continue
		}
		if d.Blocked || d.RetryAt.Sub(clock.Now()) > 250*time.Millisecond {
			t.Fatalf("waiting for the probe: %+v", d)
		}
	}
	if reserved != 1 {
		t.Fatalf("%d reservations on a cold gate, want the one probe", reserved)
	}
	// The probe's answer teaches 100/s; the 31 others then go at that pace.
	if err := gates[0].Observe(ctx, "key", 200, ccloud.RateLimit{Limit: 100, HasLimit: true, Remaining: 99, HasRemaining: true, Reset: time.Second, HasReset: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for i := 0; i < 31; i++ {
		d, err := gates[0].Reserve(ctx, "key")
		if err != nil || !d.Reserved {
			t.Fatalf("after learning: %+v %v", d, err)
		}
		last = d.SendAt
	}
	interval := time.Duration(float64(10*time.Millisecond) * 1.0) // Margin 0
	if max := clock.Now().Add(250*time.Millisecond + 31*interval); last.After(max) {
		t.Fatalf("last slot %v after %v: the cold start cost more than one probe", last.Sub(clock.Now()), max.Sub(clock.Now()))
	}
}
