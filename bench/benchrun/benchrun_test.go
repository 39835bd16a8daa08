package benchrun

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSummaryPercentiles(t *testing.T) {
	var l Latencies
	for i := 100; i >= 1; i-- {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	s := l.Summary()
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond {
		t.Fatalf("summary %+v", s)
	}
	if (&Latencies{}).Summary().N != 0 {
		t.Fatal("empty summary")
	}
}

func TestFastIntake(t *testing.T) {
	var gotBody, gotAuth, gotType, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		gotBody, gotAuth, gotType, gotPath = string(data), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.Path
		switch {
		case strings.HasSuffix(r.URL.Path, "/p-chunked"):
			w.Header().Set("Location", "/v1/changes/chg_chunked")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"id":`)
			w.(http.Flusher).Flush() // forces chunked encoding
			_, _ = io.WriteString(w, `"chg_chunked"}`)
		case strings.HasSuffix(r.URL.Path, "/p-close"):
			w.Header().Set("Connection", "close")
			w.Header().Set("Location", "/v1/changes/chg_close")
			w.WriteHeader(http.StatusAccepted)
		case strings.HasSuffix(r.URL.Path, "/p-bad"):
			http.Error(w, `{"errors":[{"status":"422"}]}`, http.StatusUnprocessableEntity)
		default:
			w.Header().Set("Location", "/v1/changes/chg_1")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"id":"chg_1"}`)
		}
	}))
	defer srv.Close()
	c, err := NewFastIntake(srv.URL, "tok-0123456789abcdef", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 3 { // reuses the kept-alive connection
		id, err := c.PatchPeering(ctx, "p-1", PeeringBody(7))
		if err != nil || id != "chg_1" {
			t.Fatalf("PatchPeering: %q %v", id, err)
		}
	}
	if gotPath != "/networking/v1/peerings/p-1" || gotAuth != "Bearer tok-0123456789abcdef" || gotType != "application/json" || gotBody != string(PeeringBody(7)) {
		t.Fatalf("request: %q %q %q %q", gotPath, gotAuth, gotType, gotBody)
	}
	for _, tc := range []struct{ id, want string }{{"p-chunked", "chg_chunked"}, {"p-close", "chg_close"}, {"p-1", "chg_1"}} {
		if id, err := c.PatchPeering(ctx, tc.id, PeeringBody(1)); err != nil || id != tc.want {
			t.Fatalf("%s: %q %v", tc.id, id, err)
		}
	}
	if _, err := c.PatchPeering(ctx, "p-bad", PeeringBody(1)); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("p-bad: %v", err)
	}
	if _, err := NewFastIntake("https://example.com", "t", 1); err == nil {
		t.Fatal("https accepted")
	}
}

func TestOpenLoopPaces(t *testing.T) {
	var lat Latencies
	res := OpenLoop(context.Background(), 1000, 50, 8, func(_ context.Context, _ int, at time.Time) error {
		lat.Add(time.Since(at))
		return nil
	})
	if res.Done != 50 || res.Elapsed < 49*time.Millisecond {
		t.Fatalf("result %+v", res)
	}
	if lat.Summary().N != 50 {
		t.Fatal("latencies")
	}
}

func TestClosedLoopCounts(t *testing.T) {
	res := ClosedLoop(context.Background(), 4, 100, func(_ context.Context, i int) error {
		if i%10 == 0 {
			return io.EOF
		}
		return nil
	})
	if res.Done != 90 || res.Errors != 10 || res.FirstErr != io.EOF {
		t.Fatalf("result %+v", res)
	}
}

func TestProcReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil || m.HWM <= 0 || m.RSS <= 0 || m.RSS > m.HWM {
		t.Fatalf("ReadMemory: %+v %v", m, err)
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, ok := MachineBusy(); !ok {
		t.Fatal("MachineBusy")
	}
	if c := OtherCores(map[string]time.Duration{Machine: 3 * time.Second, "self": time.Second}, time.Second); c != 2 {
		t.Fatalf("OtherCores %v", c)
	}
}
