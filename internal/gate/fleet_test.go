package gate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/gate"
	"github.com/patchbay/patchbay/internal/testkit"
)

func limits(limit, remaining int, reset time.Duration) ccloud.RateLimit {
	return ccloud.RateLimit{Limit: limit, HasLimit: true, Remaining: remaining, HasRemaining: true, Reset: reset, HasReset: true}
}

// Reservations from several gates share one schedule: spaced over Spread
// of the upstream window, at most Limit per window, the next window no
// earlier than the end the first answer gave.
func TestReserveSharesWindowsAcrossGates(t *testing.T) {
	f := newFleet(t)
	cfg := gate.DefaultConfig()
	gates := []*gate.Gate{f.gate(cfg, time.Now), f.gate(cfg, time.Now), f.gate(cfg, time.Now)}
	// The first answer of a window: 10 per second, 9 left.
	answered := time.Now()
	if err := gates[0].Observe(f.ctx, "key", 200, limits(10, 9, time.Second), time.Second); err != nil {
		t.Fatal(err)
	}
	var slots []time.Time
	for i := range 12 {
		d, err := gates[i%3].Reserve(f.ctx, "key")
		if err != nil || !d.Reserved {
			t.Fatalf("reservation %d: %+v %v", i, d, err)
		}
		slots = append(slots, d.SendAt)
	}
	spacing := time.Duration(float64(time.Second) * cfg.Spread / 10)
	// The slots are shared in the NATS server's time; each gate turns them
	// into local times with its own estimate of that clock, which moves by
	// a few milliseconds between reservations on a loaded machine (10 ms
	// seen in CI). Gates that did not share the window would give gaps of
	// 0 or 3 spacings.
	const tolerance = 15 * time.Millisecond
	for i := 1; i < 9; i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < spacing-tolerance || gap > spacing+tolerance {
			t.Fatalf("slot %d is %v after the previous, want %v", i, gap, spacing)
		}
	}
	// Nine slots fill the window the answer opened; the tenth waits for its end.
	if end := answered.Add(time.Second); !slots[9].After(end) || slots[8].After(end) {
		t.Fatalf("window end %v: slot 9 at %v, slot 10 at %v", end, slots[8].Sub(end), slots[9].Sub(end))
	}
	if gap := slots[10].Sub(slots[9]); gap < spacing-tolerance {
		t.Fatalf("the next window's slots are %v apart", gap)
	}
}

func TestA429OnOneGateClosesAllOfThem(t *testing.T) {
	f := newFleet(t)
	cfg := gate.DefaultConfig()
	cfg.Horizon = 500 * time.Millisecond
	gates := []*gate.Gate{f.gate(cfg, time.Now), f.gate(cfg, time.Now)}
	start := time.Now()
	if err := gates[0].Observe(f.ctx, "key", 429, ccloud.RateLimit{RetryAfter: time.Second, HasRetryAfter: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	// The other gate learns it through its watch.
	testkit.Eventually(t, 5*time.Second, "the second gate sees the block", func() (bool, string) {
		return !gates[1].Blocked("key").IsZero(), "open"
	})
	if until := gates[1].Blocked("key"); until.Before(start.Add(time.Second)) {
		t.Fatalf("blocked until %v after the 429, want at least 1s", until.Sub(start))
	}
	d, err := gates[1].Reserve(f.ctx, "key")
	if err != nil || d.Reserved || !d.Blocked || d.RetryAt.Before(start.Add(time.Second)) {
		t.Fatalf("reserve during a Retry-After: %+v %v", d, err)
	}
	// Other credentials are not affected.
	if d, err := gates[1].Reserve(f.ctx, "other"); err != nil || !d.Reserved {
		t.Fatalf("another credential was blocked: %+v %v", d, err)
	}
	// Once the Retry-After has elapsed the gate opens.
	testkit.Eventually(t, 5*time.Second, "the gate opens after the Retry-After", func() (bool, string) {
		d, err = gates[1].Reserve(f.ctx, "key")
		return err == nil && d.Reserved, "closed"
	})
	if d.SendAt.Sub(start) < time.Second {
		t.Fatalf("slot %v after a 1s Retry-After", d.SendAt.Sub(start))
	}
}

// A cold gate sends one probe and makes everyone else wait for its answer,
// instead of queueing probe-spaced slots that outlast the learned pace.
func TestColdGateSendsOneProbe(t *testing.T) {
	f := newFleet(t)
	cfg := gate.DefaultConfig()
	gates := []*gate.Gate{f.gate(cfg, time.Now), f.gate(cfg, time.Now)}
	reserved := 0
	for i := range 32 {
		d, err := gates[i%2].Reserve(f.ctx, "key")
		if err != nil {
			t.Fatal(err)
		}
		if d.Reserved {
			reserved++
			continue
		}
		if d.Blocked || time.Until(d.RetryAt) > cfg.ProbeInterval {
			t.Fatalf("waiting for the probe: %+v", d)
		}
	}
	if reserved != 1 {
		t.Fatalf("%d reservations on a cold gate, want the one probe", reserved)
	}
	// The probe's answer teaches 100/s; the 31 others then go at that pace.
	answered := time.Now()
	if err := gates[0].Observe(f.ctx, "key", 200, limits(100, 99, time.Second), time.Second); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for range 31 {
		d, err := gates[0].Reserve(f.ctx, "key")
		if err != nil || !d.Reserved {
			t.Fatalf("after learning: %+v %v", d, err)
		}
		last = d.SendAt
	}
	if max := answered.Add(cfg.ProbeInterval + 31*10*time.Millisecond); last.After(max) {
		t.Fatalf("last slot %v after the answer: the cold start cost more than one probe", last.Sub(answered))
	}
}

// KV failures wrap both ErrGate and the cause; bad configuration names
// the variable.
func TestGateErrors(t *testing.T) {
	f := newFleet(t)
	g, nc := f.gateConn(gate.DefaultConfig(), time.Now)
	nc.Close()
	_, err := g.Reserve(f.ctx, "never-seen")
	if !errors.Is(err, gate.ErrGate) || !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("Reserve on a closed connection: %v, want ErrGate wrapping nats.ErrConnectionClosed", err)
	}
	_, _, js := testkit.StartNATS(t)
	testkit.EnsureTopology(t, js)
	cfg := gate.DefaultConfig()
	cfg.Margin = 5
	if _, err := gate.New(f.ctx, js, cfg, time.Now); err == nil || !strings.HasPrefix(err.Error(), "RATELIMIT_MARGIN: ") {
		t.Fatalf("New with RATELIMIT_MARGIN=5: %v", err)
	}
	if _, err := gate.New(f.ctx, js, gate.DefaultConfig(), nil); err == nil {
		t.Fatal("New without a clock")
	}
}
