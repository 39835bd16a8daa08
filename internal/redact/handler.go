package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler is a slog.Handler that masks secrets before its inner handler
// writes anything: the message and every string, error and fmt.Stringer
// attribute go through Text with the known secret values, and attributes
// with a secret name (see SecretKey) are masked whole.
type Handler struct {
	inner   slog.Handler
	secrets []string
}

// NewHandler wraps inner. secrets are values masked wherever they appear
// (the API secret, tokens); values shorter than 4 bytes are ignored.
func NewHandler(inner slog.Handler, secrets ...string) *Handler {
	kept := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if len(s) >= 4 {
			kept = append(kept, s)
		}
	}
	return &Handler{inner: inner, secrets: kept}
}

// NewLogger returns a logger writing through a Handler around l's handler.
func NewLogger(l *slog.Logger, secrets ...string) *slog.Logger {
	return slog.New(NewHandler(l.Handler(), secrets...))
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message, h.secrets...), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(clean), secrets: h.secrets}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), secrets: h.secrets}
}

// attr masks one attribute.
func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if SecretKey(a.Key) && v.Kind() != slog.KindGroup {
		return slog.String(a.Key, Mask)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Text(v.String(), h.secrets...))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Text(x.Error(), h.secrets...))
		case fmt.Stringer:
			return slog.String(a.Key, Text(x.String(), h.secrets...))
		case []byte:
			return slog.String(a.Key, Text(string(x), h.secrets...))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
