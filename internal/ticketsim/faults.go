// Package ticketsim simulates the receivers of Patchbay's outbound
// notifications for tests, benchmarks and `make run`: Jira Cloud (issue
// comments), ServiceNow (table API work notes) and a webhook receiver that
// verifies Standard Webhooks signatures. Each checks authentication as the
// real service does, keeps a log of what it received, and can be scripted
// to fail (429 with Retry-After or X-RateLimit-Reset, 5xx, slowness).
package ticketsim

import (
	"net/http"
	"sync"
	"time"
)

// Fault is a scripted answer: the next request gets Status (with Header)
// instead of being processed.
type Fault struct {
	Status int
	Header http.Header
}

// faults is a queue of scripted answers and a per-request delay.
type faults struct {
	mu     sync.Mutex
	queue  []Fault
	always *Fault
	delay  time.Duration
}

// Push queues faults for the next requests, in order.
func (f *faults) Push(fs ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, fs...)
}

// FailAlways answers every request with fault until Recover (nil: recover).
func (f *faults) FailAlways(fault *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.always = fault
}

// Recover drops every scripted fault.
func (f *faults) Recover() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue, f.always = nil, nil
}

// SetDelay makes every request take at least d.
func (f *faults) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// next returns the fault for this request, if any, and the delay.
func (f *faults) next() (*Fault, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.always != nil {
		return f.always, f.delay
	}
	if len(f.queue) > 0 {
		ft := f.queue[0]
		f.queue = f.queue[1:]
		return &ft, f.delay
	}
	return nil, f.delay
}

// inject sleeps the delay (or until the client gives up) and writes the
// fault; it reports whether it answered.
func (f *faults) inject(w http.ResponseWriter, r *http.Request, writeErr func(http.ResponseWriter, int)) bool {
	ft, d := f.next()
	if d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return true
		}
	}
	if ft == nil {
		return false
	}
	for k, vs := range ft.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeErr(w, ft.Status)
	return true
}

// Request is a request a simulator received (and accepted or refused).
type Request struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Status is what the simulator answered.
	Status int
}

// journal is a concurrency-safe log of requests.
type journal struct {
	mu       sync.Mutex
	reqs     []Request
	arrivals int
}

// arrive counts a request as soon as it arrives (before any delay).
func (j *journal) arrive() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.arrivals++
}

// Arrivals is how many requests have arrived, answered or not yet.
func (j *journal) Arrivals() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.arrivals
}

func (j *journal) add(r Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.reqs = append(j.reqs, r)
}

// Requests returns every request received so far.
func (j *journal) Requests() []Request {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Request(nil), j.reqs...)
}
