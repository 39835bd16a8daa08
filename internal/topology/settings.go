package topology

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Settings is how the api and the worker find NATS and size the JetStream
// assets, as read from the environment (go-envconfig tags). Both processes
// must agree on it. Defaults live here and nowhere else.
type Settings struct {
	URL      string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	Replicas int    `env:"NATS_REPLICAS, default=1"`
	// AckWait is the lease of a delivered change between heartbeats; the
	// worker requires it to exceed CCLOUD_TIMEOUT by a margin.
	AckWait time.Duration `env:"PATCHBAY_ACK_WAIT, default=60s"`
	// MaxAckPending bounds the changes delivered and not acknowledged
	// across the fleet, including those handed back with a delay.
	MaxAckPending int `env:"PATCHBAY_MAX_ACK_PENDING, default=10000"`
	// Partitions is the retired PATCHBAY_PARTITIONS: order is kept per
	// resource, not per lane, so it is ignored (with a warning) when set.
	Partitions int `env:"PATCHBAY_PARTITIONS"`
}

// ErrSettings reports invalid Settings; the message names the variable.
var ErrSettings = errors.New("invalid NATS settings")

// Validate checks the settings without connecting; each error names its
// environment variable.
func (s Settings) Validate() error {
	bad := func(variable, format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", variable, ErrSettings, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(s.URL) == "" {
		return bad("NATS_URL", "empty")
	}
	for _, raw := range strings.Split(s.URL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			return bad("NATS_URL", "%q is not a server URL such as nats://127.0.0.1:4222", Redact(strings.TrimSpace(raw)))
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return bad("NATS_URL", "scheme %q not one of nats, tls, ws, wss", u.Scheme)
		}
	}
	t := s.Topology()
	switch {
	case t.Replicas < 1 || t.Replicas > 5:
		return bad("NATS_REPLICAS", "%d not in 1..5", t.Replicas)
	case t.MaxAckPending < 1:
		return bad("PATCHBAY_MAX_ACK_PENDING", "%d is below 1", t.MaxAckPending)
	case t.AckWait < time.Second:
		return bad("PATCHBAY_ACK_WAIT", "must be at least 1s, got %s", t.AckWait)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("NATS_REPLICAS/PATCHBAY_ACK_WAIT/PATCHBAY_MAX_ACK_PENDING: %w", err)
	}
	return nil
}

// Topology is the JetStream topology for these settings.
func (s Settings) Topology() Topology {
	t := DefaultTopology()
	t.Replicas, t.AckWait = s.Replicas, s.AckWait
	if s.MaxAckPending != 0 {
		t.MaxAckPending = s.MaxAckPending
	}
	return t
}

// WarnRetired logs the settings this version ignores.
func (s Settings) WarnRetired(logger *slog.Logger) {
	if s.Partitions != 0 {
		logger.Warn("PATCHBAY_PARTITIONS is ignored: changes are ordered per resource, not per lane; remove it",
			"PATCHBAY_PARTITIONS", s.Partitions)
	}
}

// Redact hides the password of a NATS URL list (user:pass@host), for logs
// and errors.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, raw := range parts {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
