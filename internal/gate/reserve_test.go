package gate

import (
	"testing"
	"time"
)

// The fleet counts its requests against the upstream's window: a window's
// budget is spread over Spread of the window, the next window starts no
// earlier than the current one's end, and an answer tightens that end.
func TestReserveCountsWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	cfg := Config{Spread: 0.8, ProbeInterval: 250 * ms, Horizon: 10 * time.Second}
	s := State{Learned: true, Limit: 4, Period: time.Second}
	var slots []time.Duration
	take := func(now time.Time) {
		t.Helper()
		p := reserve(s, now, cfg, 0)
		if !p.reserved || !p.write {
			t.Fatalf("not reserved: %+v", p)
		}
		s = p.next
		slots = append(slots, p.start.Sub(t0))
	}
	for range 4 {
		take(t0)
	}
	// The first answer arrives 2 ms after the first slot: the window ends
	// at 1.002 s at the latest.
	var changed bool
	s, _, changed = learn(s, 200, limits(4, 3, time.Second), t0.Add(2*ms), time.Second, 0)
	if !changed {
		t.Fatal("anchor not learned")
	}
	take(t0)
	take(t0)
	want := []time.Duration{0, 200 * ms, 400 * ms, 600 * ms, 1002 * ms, 1202 * ms}
	for i := range want {
		if slots[i] != want[i] {
			t.Fatalf("slots %v, want %v", slots, want)
		}
	}
	for range 2 {
		take(t0)
	}
	// The second window is full and its first answer is due: callers come
	// back shortly after its start instead of planning from a guess.
	if p := reserve(s, t0, cfg, 0); p.reserved || !p.retryAt.Equal(t0.Add(1002*ms+probeRecheck)) {
		t.Fatalf("full window awaiting its answer: %+v", p)
	}
	// A stalled machine sends the first request late: callers keep waiting
	// for its answer.
	if p := reserve(s, t0.Add(1002*ms+provisionalGuard+ms), cfg, 0); p.reserved {
		t.Fatalf("planned from a guess while the answer was still due: %+v", p)
	}
	// The answer never comes (the request was lost): after a period the
	// next window starts no earlier than a period after now.
	late := t0.Add(1002*ms + time.Second)
	take(late)
	if got := slots[len(slots)-1]; got != 1002*ms+2*time.Second {
		t.Fatalf("first slot of an unanswered window's successor at %v", got)
	}
}

func TestReserveDecisions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	cfg := Config{Spread: 1, ProbeInterval: 250 * ms, Horizon: 2 * time.Second}
	learned := State{Learned: true, Limit: 10, Period: time.Second}
	cases := []struct {
		name                    string
		s                       State
		cfg                     Config
		wantReserved, wantBlock bool
		wantAt                  time.Duration // start or retryAt, from now
		check                   func(t *testing.T, p plan)
	}{
		{name: "unlimited sends at once without a write", s: State{Learned: true, Unlimited: true}, wantReserved: true,
			check: func(t *testing.T, p plan) {
				if p.write {
					t.Fatal("write for an unlimited gate")
				}
			}},
		{name: "cold gate sends one probe", s: State{}, wantReserved: true,
			check: func(t *testing.T, p plan) {
				if !p.next.NextSlot.Equal(now.Add(250 * ms)) {
					t.Fatalf("probe spacing %v", p.next.NextSlot.Sub(now))
				}
			}},
		{name: "a probe is out: ask again soon", s: State{NextSlot: now.Add(200 * ms)}, wantAt: probeRecheck},
		{name: "Retry-After within the horizon: reserved after it", s: func() State { s := learned; s.BlockedUntil = now.Add(time.Second); return s }(),
			wantReserved: true, wantBlock: true, wantAt: time.Second},
		{name: "Retry-After beyond the horizon: come back then", s: func() State { s := learned; s.BlockedUntil = now.Add(time.Minute); return s }(),
			wantBlock: true, wantAt: time.Minute},
		{name: "next slot beyond the horizon", s: func() State { s := learned; s.NextSlot = now.Add(3 * time.Second); return s }(),
			wantAt: 2 * time.Second},
		{name: "margin leaves part of each window unused", s: func() State {
			s := learned
			s.Window = Window{Start: now.Add(-100 * ms), Anchor: now.Add(-99 * ms), End: now.Add(901 * ms), Count: 8}
			return s
		}(), cfg: Config{Margin: 0.2, Spread: 1, ProbeInterval: 250 * ms, Horizon: 2 * time.Second}, wantReserved: true, wantAt: 901 * ms},
		{name: "a raised limit fills the window ahead from its start", s: func() State {
			s := learned
			s.Limit = 40
			s.Window = Window{Start: now.Add(300 * ms), End: now.Add(1400 * ms), Count: 10}
			return s
		}(), wantReserved: true, wantAt: 300 * ms,
			check: func(t *testing.T, p plan) {
				if p.next.Window.Count != 11 {
					t.Fatalf("window %+v", p.next.Window)
				}
			}},
		{name: "no slot in a window's tail", s: func() State {
			s := learned
			s.Window = Window{Start: now.Add(-850 * ms), Anchor: now.Add(-849 * ms), End: now.Add(151 * ms), Count: 5}
			return s
		}(), cfg: Config{Spread: 0.8, ProbeInterval: 250 * ms, Horizon: 2 * time.Second}, wantReserved: true, wantAt: 151 * ms,
			check: func(t *testing.T, p plan) {
				if p.next.Window.Count != 1 || !p.next.Window.Start.Equal(now.Add(151*ms)) {
					t.Fatalf("window %+v", p.next.Window)
				}
			}},
		{name: "a window the upstream already opened counts its request", s: func() State {
			s := learned
			s.Window = Window{Start: now.Add(-900 * ms), Anchor: now.Add(-899 * ms), End: now.Add(101 * ms), Count: 10}
			s.Next = Window{Start: now.Add(50 * ms), Anchor: now.Add(50 * ms), End: now.Add(1050 * ms), Count: 1}
			return s
		}(), wantReserved: true, wantAt: 101 * ms,
			check: func(t *testing.T, p plan) {
				if p.next.Window.Count != 2 || !p.next.Window.End.Equal(now.Add(1050*ms)) || p.next.Next != (Window{}) {
					t.Fatalf("window %+v next %+v", p.next.Window, p.next.Next)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfg
			if c.cfg != (Config{}) {
				cfg = c.cfg
			}
			p := reserve(c.s, now, cfg, 0)
			at := p.retryAt
			if p.reserved {
				at = p.start
			}
			if p.reserved != c.wantReserved || p.blocked != c.wantBlock || at.Sub(now) != c.wantAt {
				t.Fatalf("plan reserved %v blocked %v at %v; want %v %v %v", p.reserved, p.blocked, at.Sub(now), c.wantReserved, c.wantBlock, c.wantAt)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}
