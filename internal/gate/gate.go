package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Config tunes the gate.
type Config struct {
	// Margin slows the fleet below the learned limit (0.03 = 3%).
	Margin float64
	// ProbeInterval spaces requests while nothing is known yet, so a cold
	// fleet sends one probe at a time instead of a burst.
	ProbeInterval time.Duration
	// Horizon is how far ahead a slot may be reserved; a caller facing a
	// longer wait is told to come back later instead of holding a slot.
	Horizon time.Duration
}

// Gate coordinates every worker's use of each upstream credential.
type Gate struct {
	kv  jetstream.KeyValue
	cfg Config
	now func() time.Time

	mu    sync.Mutex
	cache map[string]*cached // by KV key, fed by a watcher
}

type cached struct {
	state State
	rev   uint64
}

// Decision is what Reserve tells a caller.
type Decision struct {
	// SendAt is the reserved start time (Reserved only); wait until then.
	SendAt time.Time
	// Reserved is false when the wait exceeds the horizon: hand the change
	// back and retry at RetryAt without holding anything.
	Reserved bool
	RetryAt  time.Time
	// Blocked says the wait is a Retry-After (true) or pacing (false).
	Blocked bool
}

// ErrGate wraps KV failures.
var ErrGate = errors.New("ratelimit: gate unavailable")

// New opens the gate bucket (created by Ensure) and watches it.
func New(ctx context.Context, js jetstream.JetStream, cfg Config, now func() time.Time) (*Gate, error) {
	if now == nil {
		return nil, errors.New("ratelimit: nil clock")
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 250 * time.Millisecond
	}
	if cfg.Horizon <= 0 {
		cfg.Horizon = 10 * time.Second
	}
	if cfg.Margin < 0 || cfg.Margin > 1 {
		return nil, fmt.Errorf("ratelimit: margin %v not in 0..1", cfg.Margin)
	}
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: open %s: %w", Bucket, err)
	}
	g := &Gate{kv: kv, cfg: cfg, now: now, cache: map[string]*cached{}}
	return g, nil
}

// Watch keeps the local view of every credential's gate current until ctx
// ends, so that a 429 seen by one worker stops the others within
// milliseconds without a read per request.
func (g *Gate) Watch(ctx context.Context) error {
	w, err := g.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("%w: watch: %v", ErrGate, err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || e.Operation() != jetstream.KeyValuePut {
					continue
				}
				var s State
				if json.Unmarshal(e.Value(), &s) != nil {
					continue
				}
				g.remember(e.Key(), s, e.Revision())
			}
		}
	}()
	return nil
}

func (g *Gate) remember(key string, s State, rev uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.cache[key]; ok && c.rev >= rev {
		return
	}
	g.cache[key] = &cached{state: s, rev: rev}
}

func (g *Gate) lookup(key string) (State, uint64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.cache[key]
	if !ok {
		return State{}, 0, false
	}
	return c.state, c.rev, true
}

// Key is the KV key of a credential id (never the credential itself).
func Key(credentialID string) string {
	sum := sha256.Sum256([]byte(credentialID))
	return "cred_" + hex.EncodeToString(sum[:12])
}

// Blocked returns the time until which a Retry-After (or an exhausted
// window) forbids sending, from the local view; zero when open.
func (g *Gate) Blocked(credentialID string) time.Time {
	s, _, _ := g.lookup(Key(credentialID))
	if s.BlockedUntil.After(g.now()) {
		return s.BlockedUntil
	}
	return time.Time{}
}

// Reserve asks for a slot to send one request with the credential.
func (g *Gate) Reserve(ctx context.Context, credentialID string) (Decision, error) {
	key := Key(credentialID)
	for i := 0; i < 20; i++ {
		now := g.now()
		s, rev, ok := g.lookup(key)
		if ok && s.BlockedUntil.After(now.Add(g.cfg.Horizon)) {
			return Decision{RetryAt: s.BlockedUntil, Blocked: true}, nil
		}
		if ok && s.Learned && s.Unlimited && !s.BlockedUntil.After(now) {
			return Decision{SendAt: now, Reserved: true}, nil // nothing to coordinate
		}
		if !ok {
			var err error
			if s, rev, err = g.read(ctx, key); err != nil {
				return Decision{}, err
			}
		}
		if !s.Learned && s.NextSlot.After(now) {
			// A probe is out: wait for it to teach the limit rather than
			// queue more probe-spaced slots behind it.
			return Decision{RetryAt: now.Add(min(g.cfg.ProbeInterval, probeRecheck))}, nil
		}
		start := latest(now, s.NextSlot, s.BlockedUntil)
		if start.Sub(now) > g.cfg.Horizon {
			return Decision{RetryAt: start.Add(-g.cfg.Horizon / 2), Blocked: s.BlockedUntil.Equal(start)}, nil
		}
		next := s
		next.NextSlot = start.Add(s.interval(g.cfg.Margin, g.cfg.ProbeInterval))
		newRev, err := g.write(ctx, key, next, rev)
		if errors.Is(err, errConflict) {
			// Someone else reserved first: read the fresh value and retry.
			if s, rev, err = g.read(ctx, key); err != nil {
				return Decision{}, err
			}
			g.remember(key, s, rev)
			continue
		}
		if err != nil {
			return Decision{}, err
		}
		g.remember(key, next, newRev)
		return Decision{SendAt: start, Reserved: true, Blocked: s.BlockedUntil.Equal(start) && !start.Equal(now)}, nil
	}
	return Decision{}, fmt.Errorf("%w: too much contention on %s", ErrGate, key)
}

// Observe teaches the gate from one upstream response: a 429 closes it for
// Retry-After (else X-RateLimit-Reset); Remaining 0 closes it until Reset;
// the limit headers set the fleet's pace. status 0 means no response.
func (g *Gate) Observe(ctx context.Context, credentialID string, status int, rl ccloud.RateLimit, defaultWait time.Duration) error {
	if status == 0 {
		return nil
	}
	key := Key(credentialID)
	for i := 0; i < 20; i++ {
		now := g.now()
		s, rev, ok := g.lookup(key)
		if !ok {
			var err error
			if s, rev, err = g.read(ctx, key); err != nil {
				return err
			}
		}
		next, changed := learn(s, status, rl, now, defaultWait)
		if !changed {
			return nil
		}
		newRev, err := g.write(ctx, key, next, rev)
		if errors.Is(err, errConflict) {
			if s, rev, err = g.read(ctx, key); err != nil {
				return err
			}
			g.remember(key, s, rev)
			continue
		}
		if err != nil {
			return err
		}
		g.remember(key, next, newRev)
		return nil
	}
	return fmt.Errorf("%w: too much contention on %s", ErrGate, key)
}
