package ccloud

import (
	"context"

	"github.com/patchbay/patchbay/internal/tracectx"
)

// traceParentKey is the context key of the W3C traceparent to send.
type traceParentKey struct{}

// WithTraceParent returns a context whose upstream requests (Client.Do)
// carry tp as the W3C traceparent header. An invalid or empty tp is
// ignored: ctx is returned unchanged and nothing is sent.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if !tracectx.Valid(tp) {
		return ctx
	}
	return context.WithValue(ctx, traceParentKey{}, tp)
}

// traceParent returns the traceparent set by WithTraceParent, or "".
func traceParent(ctx context.Context) string {
	tp, _ := ctx.Value(traceParentKey{}).(string)
	return tp
}
