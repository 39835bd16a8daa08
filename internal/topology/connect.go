package topology

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connect dials NATS (a comma-separated URL list) and keeps reconnecting
// forever. Publishes are not buffered while disconnected, so the intake
// fails fast (503) instead of promising what it cannot keep.
func Connect(urls, name string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(urls,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.Timeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("nats disconnected", "error", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", "server", c.ConnectedUrlRedacted())
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("NATS_URL: connect to %s: %w", Redact(urls), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("topology: jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureWithRetry runs Ensure until it succeeds or ctx ends, for processes
// that start before NATS is reachable.
func EnsureWithRetry(ctx context.Context, js jetstream.JetStream, t Topology, logger *slog.Logger) error {
	if err := t.Validate(); err != nil {
		return err
	}
	wait := 250 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := Ensure(attemptCtx, js, t)
		cancel()
		if err == nil {
			return nil
		}
		if nc := js.Conn(); !nc.IsConnected() {
			err = notConnected(nc)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("topology: ensure topology: %w (last error: %v)", ctx.Err(), err)
		}
		logger.Warn("waiting for NATS JetStream to set up streams", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// notConnected explains a disconnected connection by the servers it tries
// and its last error, naming NATS_URL.
func notConnected(nc *nats.Conn) error {
	servers := strings.Join(nc.Servers(), ",")
	if last := nc.LastError(); last != nil {
		return fmt.Errorf("NATS_URL: not connected to %s: %w", Redact(servers), last)
	}
	return fmt.Errorf("NATS_URL: not connected to %s", Redact(servers))
}
