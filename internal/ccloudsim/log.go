package ccloudsim

import (
	"maps"
	"net/http"
	"time"
)

// Request is one entry of the request log.
type Request struct {
	Method string
	// Path is the escaped request path, as sent.
	Path string
	// Body is the request body (at most MaxBodyBytes).
	Body []byte
	// Credential is the API key, or "bearer:<first 4 chars>…", never a secret; "" without credentials.
	Credential string
	// Start and End are the arrival and response times by the server's clock.
	Start, End time.Time
	// Status is the HTTP status sent; 0 while in flight, for a dropped
	// connection, or when the client went away during a slow fault.
	Status int
	// RequestID is the X-Request-Id sent, "" while in flight.
	RequestID string
	// TraceParent is the W3C traceparent header received, "" without one.
	TraceParent string
}

// Stats counts requests.
type Stats struct {
	// Total is every request received.
	Total int
	// ByStatus counts responses by HTTP status (dropped requests are not in it).
	ByStatus map[int]int
	// RateLimited counts 429s sent by the rate limiter (violations included).
	RateLimited int
	// Violations counts requests that arrived before a Retry-After given to
	// the same credential had elapsed.
	Violations int
	// Dropped counts connections closed without a response.
	Dropped int
}

// logStart records a request on arrival, so the log is in arrival order.
func (s *Server) logStart(r *http.Request, body []byte, label string, start time.Time) *Request {
	e := &Request{Method: r.Method, Path: r.URL.EscapedPath(), Body: body, Credential: label, Start: start,
		TraceParent: r.Header.Get("traceparent")}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Total++
	s.log = append(s.log, e)
	if limit := s.opts.LogLimit; limit > 0 && len(s.log) >= 2*limit {
		s.log = append([]*Request(nil), s.log[len(s.log)-limit:]...)
	}
	return e
}

// logFinish completes a log entry and the counters.
func (s *Server) logFinish(e *Request, resp response, id string) {
	end := s.opts.Now()
	s.mu.Lock()
	e.End, e.RequestID = end, id
	switch {
	case resp.drop:
		s.stats.Dropped++
	case resp.abandoned:
	default:
		e.Status = resp.status
		s.stats.ByStatus[resp.status]++
		if resp.rateLimited {
			s.stats.RateLimited++
		}
	}
	entry := *e
	s.mu.Unlock()
	if l := s.opts.Logger; l != nil {
		l.Info("request", "method", entry.Method, "path", entry.Path, "status", entry.Status,
			"credential", entry.Credential, "request_id", id, "duration", entry.End.Sub(entry.Start).String())
	}
}

// Requests returns a copy of the request log, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	if limit := s.opts.LogLimit; limit > 0 && len(s.log) > limit {
		start = len(s.log) - limit
	}
	out := make([]Request, 0, len(s.log)-start)
	for _, e := range s.log[start:] {
		c := *e
		c.Body = append([]byte(nil), e.Body...)
		out = append(out, c)
	}
	return out
}

// ResetLog empties the request log and the counters.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	s.stats = Stats{ByStatus: make(map[int]int)}
}

// Violations returns the number of requests that arrived while a Retry-After
// given to the same credential had not elapsed.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Violations
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = maps.Clone(s.stats.ByStatus)
	return st
}
