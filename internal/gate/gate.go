package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// Gate coordinates every worker's use of each rate-limit scope.
type Gate struct {
	kv     jetstream.KeyValue
	cfg    Config
	now    func() time.Time
	clock  *serverClock
	jitter func() float64
	// clockKey is this gate's key for clock calibration; calibrating
	// serialises calibrations.
	clockKey    string
	calibrating sync.Mutex

	mu    sync.Mutex
	cache map[string]cached // by KV key, fed by a watcher and our writes
}

// Decision is what Reserve tells a caller. Times are the caller's (the
// injected clock's), converted conservatively from the server's.
type Decision struct {
	// SendAt is the reserved start time (Reserved only); wait until then.
	SendAt time.Time
	// Reserved is false when the wait exceeds the horizon: hand the change
	// back and retry at RetryAt without holding anything.
	Reserved bool
	// RetryAt is when to ask again (not Reserved).
	RetryAt time.Time
	// Blocked says the wait is a Retry-After (true) or pacing (false).
	Blocked bool
}

// ErrGate wraps KV failures.
var ErrGate = errors.New("gate: unavailable")

// maxTries bounds compare-and-swap rounds per call.
const maxTries = 50

// New opens the gate bucket (created by topology.Ensure) and measures this
// process's clock offset to the NATS server. cfg gets its defaults for zero
// fields and is validated; now is the local clock.
func New(ctx context.Context, js jetstream.JetStream, cfg Config, now func() time.Time) (*Gate, error) {
	if now == nil {
		return nil, errors.New("gate: nil clock")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("gate: open %s: %w", Bucket, err)
	}
	g := &Gate{kv: kv, cfg: cfg, now: now, clock: newServerClock(now), jitter: rand.Float64, cache: map[string]cached{},
		clockKey: fmt.Sprintf("%s%016x", clockPrefix, rand.Uint64())}
	if err := g.calibrate(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Watch keeps the local view of every scope's gate current until ctx ends,
// so that a 429 seen by one worker stops the others within milliseconds
// without a read per request; the server timestamps of our own writes
// coming back keep the clock-offset estimate fresh.
func (g *Gate) Watch(ctx context.Context) error {
	w, err := g.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("%w: watch: %w", ErrGate, err)
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
				g.clock.seen(e.Revision(), e.Created())
				if !strings.HasPrefix(e.Key(), clockPrefix) {
					g.remember(e.Key(), decode(e))
				}
			}
		}
	}()
	return nil
}

// remember keeps c unless a newer revision (or the exact entry of the same
// revision) is known.
func (g *Gate) remember(key string, c cached) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old, ok := g.cache[key]; ok && (old.rev > c.rev || old.rev == c.rev && (old.exact || !c.exact)) {
		return
	}
	g.cache[key] = c
}

func (g *Gate) lookup(key string) (cached, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.cache[key]
	return c, ok
}

// Key is the KV key of a credential id (never the credential itself) when
// no scope is configured.
func Key(credentialID string) string {
	sum := sha256.Sum256([]byte(credentialID))
	return "cred_" + hex.EncodeToString(sum[:12])
}

// ScopeKey is the KV key of a configured rate-limit scope.
func ScopeKey(scope string) string { return "scope_" + scope }

// key is the KV key of the gate a credential uses.
func (g *Gate) key(credentialID string) string {
	if g.cfg.Scope != "" {
		return ScopeKey(g.cfg.Scope)
	}
	return Key(credentialID)
}

// Blocked returns the local time until which a Retry-After forbids
// sending with the credential, from the local view; zero when open.
func (g *Gate) Blocked(credentialID string) time.Time {
	c, _ := g.lookup(g.key(credentialID))
	if c.state.BlockedUntil.IsZero() {
		return time.Time{}
	}
	if until := g.clock.toLocalLate(c.state.BlockedUntil); until.After(g.now()) {
		return until
	}
	return time.Time{}
}

// ensureClock measures the clock offset again when no recent write did.
func (g *Gate) ensureClock(ctx context.Context) error {
	if g.clock.fresh() {
		return nil
	}
	return g.calibrate(ctx)
}

// current returns the cached state of key, reading it when unknown.
func (g *Gate) current(ctx context.Context, key string) (cached, error) {
	if c, ok := g.lookup(key); ok {
		return c, nil
	}
	return g.read(ctx, key)
}

// Reserve asks for a slot to send one request with the credential.
func (g *Gate) Reserve(ctx context.Context, credentialID string) (Decision, error) {
	key := g.key(credentialID)
	if err := g.ensureClock(ctx); err != nil {
		return Decision{}, err
	}
	for range maxTries {
		c, err := g.current(ctx, key)
		if err != nil {
			return Decision{}, err
		}
		p := reserve(c.state, g.clock.serverNow(), g.cfg, g.jitter())
		if !p.reserved {
			return Decision{RetryAt: g.clock.toLocalLate(p.retryAt), Blocked: p.blocked}, nil
		}
		if p.write {
			err = g.write(ctx, key, c, p.next, 0, time.Time{})
			if errors.Is(err, errConflict) {
				// Someone else reserved first: read the fresh value and retry.
				if _, err := g.read(ctx, key); err != nil {
					return Decision{}, err
				}
				continue
			}
			if err != nil {
				return Decision{}, err
			}
		}
		return Decision{SendAt: g.clock.toLocalLate(p.start), Reserved: true, Blocked: p.blocked}, nil
	}
	return Decision{}, fmt.Errorf("%w: too much contention on %s", ErrGate, key)
}

// Observe teaches the gate from one upstream response: a 429 closes it for
// Retry-After (else X-RateLimit-Reset, else defaultWait), and the limit
// headers tell the fleet the upstream's window. status 0 means no response.
func (g *Gate) Observe(ctx context.Context, credentialID string, status int, rl ccloud.RateLimit, defaultWait time.Duration) error {
	if status == 0 {
		return nil
	}
	recvLocal := g.now()
	recv := g.clock.toServerLate(recvLocal)
	key := g.key(credentialID)
	for range maxTries {
		c, err := g.current(ctx, key)
		if err != nil {
			return err
		}
		grace := time.Duration(float64(c.state.Period) * (1 - g.cfg.Spread))
		next, block, changed := learn(c.state, status, rl, recv, defaultWait, grace)
		if !changed {
			return nil
		}
		err = g.write(ctx, key, c, next, block, recvLocal)
		if errors.Is(err, errConflict) {
			if _, err := g.read(ctx, key); err != nil {
				return err
			}
			continue
		}
		return err
	}
	return fmt.Errorf("%w: too much contention on %s", ErrGate, key)
}
