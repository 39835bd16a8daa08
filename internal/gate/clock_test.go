package gate

import (
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/clocktest"
)

func TestServerClock(t *testing.T) {
	local := clocktest.New(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	ms := time.Millisecond
	at := func(d time.Duration) time.Time { return local.Now().Add(d) }
	c := newServerClock(local.Now)
	if _, _, ok := c.bounds(); ok || c.fresh() {
		t.Fatal("a new clock has no samples")
	}
	// The local clock runs 3 s fast: the server stamped our write 3 s
	// "earlier" than we sent it. The write took 4 ms.
	c.add(at(0), at(4*ms), at(-3*time.Second+2*ms))
	lo, hi, _ := c.bounds()
	if lo != -3*time.Second-2*ms || hi != -3*time.Second+2*ms {
		t.Fatalf("bounds %v..%v", lo, hi)
	}
	// A second, tighter sample narrows the interval.
	c.add(at(10*ms), at(11*ms), at(-3*time.Second+11*ms))
	if lo, hi, _ = c.bounds(); lo != -3*time.Second || hi != -3*time.Second+ms {
		t.Fatalf("bounds after a tighter sample %v..%v", lo, hi)
	}
	// Conversions are conservative both ways.
	deadline := at(0) // a server-time deadline
	if got := c.toLocalLate(deadline); !got.Equal(at(3 * time.Second)) {
		t.Fatalf("toLocalLate: %v after, want 3s", got.Sub(at(0)))
	}
	if got := c.toServerLate(at(0)); !got.Equal(at(-3*time.Second + ms)) {
		t.Fatalf("toServerLate: %v", got.Sub(at(0)))
	}
	// Samples arrive through the watch, before or after the acknowledgement.
	c.sent(41, at(20*ms), at(21*ms))
	c.seen(41, at(-3*time.Second+20*ms))
	c.seen(42, at(-3*time.Second+30*ms))
	c.sent(42, at(29*ms), at(30*ms))
	if lo, hi, _ = c.bounds(); lo != -3*time.Second || hi != -3*time.Second {
		t.Fatalf("bounds after watched samples %v..%v", lo, hi)
	}
	// The local clock is stepped back by 3 s: the next sample contradicts
	// the old ones, which are dropped.
	local.Advance(-3 * time.Second)
	c.add(at(-2*ms), at(0), at(-ms))
	if lo, hi, _ = c.bounds(); lo != -ms || hi != ms {
		t.Fatalf("bounds after a clock step %v..%v", lo, hi)
	}
	if !c.fresh() {
		t.Fatal("fresh right after a sample")
	}
	local.Advance(recalibrateAfter)
	if c.fresh() {
		t.Fatal("still fresh after recalibrateAfter")
	}
}
