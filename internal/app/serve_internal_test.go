package app

import (
	"net/http"
	"testing"
	"time"
)

// TestHTTPServerTimeouts pins the timeouts that keep slow clients from
// pinning connections, and that a full-length long-poll (60 s) still fits
// in the write timeout.
func TestHTTPServerTimeouts(t *testing.T) {
	t.Parallel()
	s := newHTTPServer(":0", http.NotFoundHandler())
	tests := []struct {
		name     string
		got      time.Duration
		min, max time.Duration
	}{
		{name: "ReadHeaderTimeout", got: s.ReadHeaderTimeout, min: time.Second, max: 10 * time.Second},
		{name: "ReadTimeout (headers and body)", got: s.ReadTimeout, min: s.ReadHeaderTimeout, max: 30 * time.Second},
		{name: "WriteTimeout (above the 60 s long-poll)", got: s.WriteTimeout, min: 61 * time.Second, max: 2 * time.Minute},
		{name: "IdleTimeout", got: s.IdleTimeout, min: time.Second, max: 5 * time.Minute},
	}
	for _, tt := range tests {
		if tt.got < tt.min || tt.got > tt.max {
			t.Errorf("%s = %s, want within [%s, %s]", tt.name, tt.got, tt.min, tt.max)
		}
	}
	if s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes = %d, want a bound of at most 64 KiB", s.MaxHeaderBytes)
	}
}
