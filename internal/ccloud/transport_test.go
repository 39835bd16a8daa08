package ccloud_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/ccloud"
)

// hijackAndClose drops the connection without (or after part of) a response.
func hijackAndClose(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close()
}

func TestTransportFailuresAreRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    func(t *testing.T, w http.ResponseWriter, r *http.Request)
		timeout    time.Duration
		wantStatus int
		wantIs     error
		wantResp   bool
	}{
		{
			name:    "timeout waiting for headers",
			timeout: 50 * time.Millisecond,
			handler: func(_ *testing.T, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			wantIs:  context.DeadlineExceeded,
		},
		{
			name: "timeout while reading the body of a 200",
			// The body is part of the call: the deadline covers it.
			timeout: 50 * time.Millisecond,
			handler: func(_ *testing.T, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"id":`))
				http.NewResponseController(w).Flush()
				<-r.Context().Done()
			},
			wantStatus: 200,
			wantIs:     context.DeadlineExceeded,
			wantResp:   true,
		},
		{
			name:    "connection dropped before a response",
			handler: func(t *testing.T, w http.ResponseWriter, _ *http.Request) { hijackAndClose(t, w) },
		},
		{
			name: "connection dropped mid-body of a 503",
			handler: func(t *testing.T, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "1000")
				w.Header().Set("X-Request-Id", "rid-503")
				w.WriteHeader(503)
				_, _ = w.Write([]byte(`{"errors":[`))
				hijackAndClose(t, w)
			},
			wantStatus: 503,
			wantResp:   true,
		},
		{
			name: "connection dropped mid-body of a 200",
			handler: func(t *testing.T, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"id":"p-1"`))
				hijackAndClose(t, w)
			},
			wantStatus: 200,
			wantResp:   true,
		},
		{
			name: "503 body over the size limit",
			handler: func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(503)
				_, _ = w.Write([]byte(strings.Repeat("x", 200)))
			},
			wantStatus: 503,
			wantIs:     ccloud.ErrBodyTooLarge,
			wantResp:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { tt.handler(t, w, r) })
			c := newClient(t, rec.srv.URL, func(cfg *ccloud.Config) {
				cfg.MaxBodyBytes = 100
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
			})
			resp, err := c.Do(t.Context(), ccloud.UpdatePeering, "p-1", []byte(peeringBody))
			var re *ccloud.RetryableError
			if !errors.As(err, &re) {
				t.Fatalf("err = %T %v, want *RetryableError", err, err)
			}
			if re.Status != tt.wantStatus {
				t.Errorf("Status = %d, want %d", re.Status, tt.wantStatus)
			}
			if (resp != nil) != tt.wantResp || (re.Response != nil) != tt.wantResp {
				t.Errorf("response = %v / %v, want present=%v", resp, re.Response, tt.wantResp)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v) = false for %v", tt.wantIs, err)
			}
			if re.Err == nil || errors.Unwrap(err) != re.Err {
				t.Errorf("Unwrap = %v, want the cause", errors.Unwrap(err))
			}
			assertNoSecrets(t, err.Error())
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := newClient(t, "http://"+addr)
	resp, err := c.Do(t.Context(), ccloud.UpdateIntegration, "i-1", []byte(integrationBody))
	var re *ccloud.RetryableError
	if !errors.As(err, &re) || resp != nil || re.Status != 0 {
		t.Fatalf("Do = %v, %T %v; want nil, *RetryableError with status 0", resp, err, err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("cause is not a *net.OpError: %v", err)
	}
	assertNoSecrets(t, err.Error())
}

func TestCallerCancellation(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	rec := newRecorder(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	c := newClient(t, rec.srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.Do(ctx, ccloud.UpdatePeering, "p-1", []byte(peeringBody))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want errors.Is(context.Canceled)", err)
	}
	var re *ccloud.RetryableError
	if !errors.As(err, &re) {
		t.Errorf("err = %T, want *RetryableError", err)
	}

	// Already cancelled: nothing is sent.
	before := len(rec.requests())
	done, cancelDone := context.WithCancel(t.Context())
	cancelDone()
	if _, err := c.Do(done, ccloud.UpdatePeering, "p-2", []byte(peeringBody)); !errors.Is(err, context.Canceled) {
		t.Errorf("pre-cancelled: err = %v, want context.Canceled", err)
	}
	if after := len(rec.requests()); after != before {
		t.Errorf("pre-cancelled context sent %d requests", after-before)
	}
}

func TestBodyLimitByStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   outcome
	}{
		{200, permanent},
		{404, permanent},
		{429, rateLimited},
		{500, retryable},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			rec := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"id":"` + strings.Repeat("x", 64) + `"}`))
			})
			c := newClient(t, rec.srv.URL, func(cfg *ccloud.Config) { cfg.MaxBodyBytes = 32 })
			resp, err := c.Do(t.Context(), ccloud.UpdatePeering, "p-1", []byte(peeringBody))
			if got := classOf(t, err); got != tt.want {
				t.Fatalf("class = %v, want %v (%v)", got, tt.want, err)
			}
			if resp == nil || len(resp.Body) != 32 {
				t.Fatalf("response body not truncated to the limit: %+v", resp)
			}
			if tt.want != rateLimited && !errors.Is(err, ccloud.ErrBodyTooLarge) {
				t.Errorf("err = %v, want ErrBodyTooLarge", err)
			}
			if tt.want == rateLimited {
				var rl *ccloud.RateLimitedError
				if errors.As(err, &rl); rl.Wait != 7*time.Second {
					t.Errorf("Wait = %v, want 7s", rl.Wait)
				}
			}
		})
	}
}
