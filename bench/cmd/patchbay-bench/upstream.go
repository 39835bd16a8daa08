package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/bench/benchrun"
	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// upstream wraps the simulator as the partial-failure scenarios need it: a
// fixed latency on every call, resources that answer 503 on every call, and
// an exact account of what reached it: overlapping calls to one resource,
// calls in flight per credential (one credential per worker process tells
// which worker sent what), and per resource the sequence numbers of the
// bodies it applied, in order.
type upstream struct {
	sim     http.Handler
	latency time.Duration
	failing map[string]bool // request paths that always answer 503

	mu       sync.Mutex
	inFlight map[string]int // by path
	byCred   map[string]int // in flight, by API key
	calls    int
	failed   int
	overlaps []string
	applied  map[string][]int // path -> sequence numbers answered 200, in answer order
}

func newUpstream(sim http.Handler, latency time.Duration, failingPaths []string) *upstream {
	u := &upstream{sim: sim, latency: latency, failing: map[string]bool{},
		inFlight: map[string]int{}, byCred: map[string]int{}, applied: map[string][]int{}}
	for _, p := range failingPaths {
		u.failing[p] = true
	}
	return u
}

// serve runs the upstream on a free 127.0.0.1 port and returns its URL.
func (u *upstream) serve(r *run) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: u, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	r.sims = append(r.sims, srv)
	return "http://" + addr, nil
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	cred, _, _ := req.BasicAuth()
	path := req.URL.EscapedPath()
	u.mu.Lock()
	u.calls++
	if u.inFlight[path] > 0 {
		u.overlaps = append(u.overlaps, fmt.Sprintf("%s: a second call arrived while %d were in flight", path, u.inFlight[path]))
	}
	u.inFlight[path]++
	u.byCred[cred]++
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.inFlight[path]--
		u.byCred[cred]--
		u.mu.Unlock()
	}()
	if u.latency > 0 {
		t := time.NewTimer(u.latency)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
	}
	if u.failing[path] {
		u.mu.Lock()
		u.failed++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"errors":[{"status":"503","code":"service_unavailable","title":"Service Unavailable","detail":"injected by patchbay-bench"}]}`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, ccloudsim.MaxBodyBytes))
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	rec := &statusRecorder{ResponseWriter: w}
	u.sim.ServeHTTP(rec, req)
	if rec.status == http.StatusOK {
		if seq, ok := bodySeq(body); ok {
			u.mu.Lock()
			u.applied[path] = append(u.applied[path], seq)
			u.mu.Unlock()
		}
	}
}

// credInFlight is how many calls with API key cred are in flight.
func (u *upstream) credInFlight(cred string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byCred[cred]
}

// orderViolations lists the resources whose applied sequence numbers went
// backwards (a repeat of the same number, a change applied again after a
// takeover, is allowed: at-least-once, never out of order).
func (u *upstream) orderViolations() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for path, seqs := range u.applied {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] < seqs[i-1] {
				out = append(out, fmt.Sprintf("%s applied %d after %d", path, seqs[i], seqs[i-1]))
				break
			}
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// seqBody is an Update a Peering body whose display name carries seq, the
// change's place in its resource's order.
func seqBody(seq int) []byte {
	return []byte(fmt.Sprintf(`{"spec":{"display_name":"seq-%06d","environment":{"id":%q}}}`, seq, ccloudsim.DemoEnvironment))
}

// bodySeq reads the sequence number back from a seqBody.
func bodySeq(body []byte) (int, bool) {
	var b struct {
		Spec struct {
			DisplayName string `json:"display_name"`
		} `json:"spec"`
	}
	if json.Unmarshal(body, &b) != nil {
		return 0, false
	}
	var seq int
	if _, err := fmt.Sscanf(b.Spec.DisplayName, "seq-%d", &seq); err != nil {
		return 0, false
	}
	return seq, true
}

// newPartialSim is a simulator accepting one credential per worker
// (workerKey(i)), with the peerings seeded.
func newPartialSim(workers int, ids []string) (*ccloudsim.Server, error) {
	creds := map[string]string{}
	for i := 1; i <= workers; i++ {
		creds[workerKey(i)] = simSecret
	}
	sim, err := ccloudsim.New(ccloudsim.Options{Credentials: creds, LogLimit: 1})
	if err != nil {
		return nil, err
	}
	benchrun.SeedPeerings(sim, ids)
	return sim, nil
}

// workerKey is worker i's upstream API key.
func workerKey(i int) string { return fmt.Sprintf("bench-key-w%d", i) }
