// Package clocktest is a settable clock for tests of code that takes an
// injected `func() time.Time`.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock set to start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the current fake time; pass c.Now where a clock is injected.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Skewed is a real clock off by a settable amount: time.Now() + offset.
// It stands for a machine whose clock runs ahead (or behind) when the code
// under test talks to real servers (NATS, an HTTP server) whose clocks are
// right.
type Skewed struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewSkewed returns a clock offset from the real one by offset.
func NewSkewed(offset time.Duration) *Skewed { return &Skewed{offset: offset} }

// Now returns time.Now() plus the offset; pass c.Now where a clock is injected.
func (c *Skewed) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Step changes the offset by d, as a clock being stepped by NTP or an operator.
func (c *Skewed) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
