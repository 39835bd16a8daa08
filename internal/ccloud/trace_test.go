package ccloud_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/internal/ccloud"
)

func TestTraceParentIsSentWhenValid(t *testing.T) {
	t.Parallel()
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		ctx  func(context.Context) context.Context
		want string
	}{
		{"none", func(ctx context.Context) context.Context { return ctx }, ""},
		{"valid", func(ctx context.Context) context.Context { return ccloud.WithTraceParent(ctx, valid) }, valid},
		{"invalid dropped", func(ctx context.Context) context.Context { return ccloud.WithTraceParent(ctx, "00-zz-yy-01") }, ""},
		{"header injection dropped", func(ctx context.Context) context.Context {
			return ccloud.WithTraceParent(ctx, valid[:len(valid)-1]+"\r\nX-Evil: 1")
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"id":"p-1"}`))
			})
			c := newClient(t, rec.srv.URL)
			if _, err := c.Do(tt.ctx(t.Context()), ccloud.UpdatePeering, "p-1", []byte(peeringBody)); err != nil {
				t.Fatal(err)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			if got := reqs[0].Header.Values("traceparent"); tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
				t.Fatalf("traceparent %q, want %q", got, tt.want)
			}
			if reqs[0].Header.Get("X-Evil") != "" {
				t.Fatal("header injected")
			}
		})
	}
}
