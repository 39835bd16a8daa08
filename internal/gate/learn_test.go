package gate

import (
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// limits is the rate-limit headers of one answer.
func limits(limit, remaining int, reset time.Duration) ccloud.RateLimit {
	return ccloud.RateLimit{Limit: limit, HasLimit: true, Remaining: remaining, HasRemaining: true, Reset: reset, HasReset: true}
}

func TestLearn(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	learned := State{Learned: true, Limit: 20, Period: time.Second}
	open := learned
	open.Window = Window{Start: now.Add(-5 * ms), End: now.Add(time.Second + 95*ms), Count: 3}
	anchored := learned
	anchored.Window = Window{Start: now.Add(-600 * ms), Anchor: now.Add(-598 * ms), End: now.Add(402 * ms), Count: 12}
	cases := []struct {
		name        string
		prev        State
		status      int
		rl          ccloud.RateLimit
		wantBlock   time.Duration
		wantChanged bool
		check       func(t *testing.T, s State)
	}{
		{name: "429 blocks for Retry-After and forgets the window", prev: anchored, status: 429,
			rl: ccloud.RateLimit{RetryAfter: 7 * time.Second, HasRetryAfter: true}, wantBlock: 7 * time.Second, wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.BlockedUntil.Equal(now.Add(7*time.Second)) || s.Window != (Window{}) {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "429 without Retry-After uses Reset", status: 429,
			rl: ccloud.RateLimit{Reset: 3 * time.Second, HasReset: true}, wantBlock: 3 * time.Second, wantChanged: true},
		{name: "429 with nothing uses the default", status: 429, wantBlock: time.Second, wantChanged: true},
		{name: "a shorter 429 never shortens a block", status: 429,
			prev: State{BlockedUntil: now.Add(time.Minute)},
			rl:   ccloud.RateLimit{RetryAfter: time.Second, HasRetryAfter: true}, wantChanged: false},
		{name: "a 429's Reset is not the window", prev: learned, status: 429, rl: func() ccloud.RateLimit {
			rl := limits(20, 0, 2*time.Second)
			rl.RetryAfter, rl.HasRetryAfter = 2*time.Second, true
			return rl
		}(), wantBlock: 2 * time.Second, wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Period != time.Second {
					t.Fatalf("period %s", s.Period)
				}
			}},
		{name: "limits learned", status: 200, rl: limits(20, 12, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.Learned || s.Unlimited || s.Limit != 20 || s.Period != time.Second {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "no headers means unlimited", status: 200, wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.Learned || !s.Unlimited {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "steady state is not rewritten", status: 200, prev: anchored, rl: limits(20, 9, time.Second), wantChanged: false},
		{name: "first answer of our window anchors its end", status: 200, prev: open, rl: limits(20, 19, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if !s.Window.Anchor.Equal(now) || !s.Window.End.Equal(now.Add(time.Second)) || s.Window.Count != 3 {
					t.Fatalf("window %+v", s.Window)
				}
			}},
		{name: "a late request opened the next upstream window", status: 200, prev: anchored, rl: limits(20, 19, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Window != anchored.Window || s.Next != (Window{Start: now, Anchor: now, End: now.Add(time.Second), Count: 1}) {
					t.Fatalf("window %+v next %+v", s.Window, s.Next)
				}
			}},
		{name: "a late request opened the upstream window ours will count in", status: 200,
			prev: func() State {
				s := learned
				s.Window = Window{Start: now.Add(30 * ms), End: now.Add(1130 * ms), Count: 20}
				return s
			}(), rl: limits(20, 19, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Window != (Window{Start: now.Add(30 * ms), Anchor: now, End: now.Add(time.Second), Count: 21}) {
					t.Fatalf("window %+v", s.Window)
				}
			}},
		{name: "someone else spends the quota", status: 200, prev: anchored, rl: limits(20, 2, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Window.Count != 18 {
					t.Fatalf("count %d, want 18", s.Window.Count)
				}
			}},
		{name: "limit lowered", status: 200, prev: anchored, rl: limits(10, 0, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Limit != 10 || s.Window.Count < s.budget(0) {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "limit lowered voids the slots reserved under the old one", status: 200,
			prev: func() State { s := anchored; s.NextSlot = now.Add(300 * ms); return s }(), rl: limits(10, 5, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Limit != 10 || !s.BlockedUntil.Equal(now.Add(300*ms)) || !s.Lowered.Equal(now) {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "an answer from before the limit was lowered is not a raise", status: 200,
			prev: func() State { s := anchored; s.Limit, s.Lowered = 10, now.Add(-10*ms); return s }(), rl: limits(20, 2, time.Second), wantChanged: false},
		{name: "limit raised", status: 200, prev: anchored, rl: limits(40, 27, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Limit != 40 || s.Window.Count != 13 || !s.NextSlot.IsZero() {
					t.Fatalf("state %+v", s)
				}
			}},
		{name: "longer window learned from a first answer, and shorter again", status: 200,
			prev: State{Learned: true, Limit: 20, Period: 5 * time.Second}, rl: limits(20, 19, time.Second), wantChanged: true,
			check: func(t *testing.T, s State) {
				if s.Period != time.Second {
					t.Fatalf("period %s", s.Period)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, block, changed := learn(c.prev, c.status, c.rl, now, time.Second, 0)
			if changed != c.wantChanged {
				t.Fatalf("changed %v, want %v (%+v)", changed, c.wantChanged, got)
			}
			if block != c.wantBlock {
				t.Fatalf("block %s, want %s", block, c.wantBlock)
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

func TestFolded(t *testing.T) {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := State{BlockedUntil: created.Add(time.Second), BlockFor: 3 * time.Second}.folded(created)
	if !s.BlockedUntil.Equal(created.Add(3*time.Second)) || s.BlockFor != 0 {
		t.Fatalf("folded %+v", s)
	}
	s = State{BlockedUntil: created.Add(5 * time.Second), BlockFor: 3 * time.Second}.folded(created)
	if !s.BlockedUntil.Equal(created.Add(5 * time.Second)) {
		t.Fatalf("a longer absolute block was shortened: %+v", s)
	}
}

// A 429 voids the slots reserved before it: the block lasts until the
// last of them.
func TestA429VoidsReservedSlots(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := State{Learned: true, Limit: 40, Period: time.Second, NextSlot: now.Add(1500 * time.Millisecond)}
	next, block, changed := learn(s, 429, ccloud.RateLimit{RetryAfter: time.Second, HasRetryAfter: true, Limit: 10, HasLimit: true}, now, time.Second, 0)
	if !changed || block != time.Second || !next.BlockedUntil.Equal(s.NextSlot) || next.Limit != 10 {
		t.Fatalf("after a 429 with slots reserved: %+v block %s", next, block)
	}
}

// A slow answer from the window before, arriving just after the new
// window's first answer, does not close the new window.
func TestLateAnswerOfThePreviousWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := State{Learned: true, Limit: 20, Period: time.Second,
		Window: Window{Start: now.Add(-50 * time.Millisecond), Anchor: now.Add(-40 * time.Millisecond), End: now.Add(960 * time.Millisecond), Count: 3}}
	grace := 200 * time.Millisecond
	if got, _, _ := learn(s, 200, limits(20, 1, time.Second), now, time.Second, grace); got.Window.Count != 3 {
		t.Fatalf("count %d after a late answer of the previous window, want 3", got.Window.Count)
	}
	if got, _, _ := learn(s, 200, limits(20, 1, time.Second), now.Add(grace), time.Second, grace); got.Window.Count != 19 {
		t.Fatalf("count %d after the grace, want the upstream's 19", got.Window.Count)
	}
}
