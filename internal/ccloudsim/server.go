// Package ccloudsim is a Confluent Cloud simulator for the two operations
// Patchbay performs: PATCH /networking/v1/peerings/{id} and PATCH
// /notifications/v1/integrations/{id}. It authenticates like Confluent Cloud
// (HTTP Basic API key or Bearer token), rate limits per credential with the
// upstream's X-RateLimit-* and Retry-After headers, validates bodies with
// internal/schema, answers in the upstream's error envelope, and can inject
// faults. It records every request so tests can check what reached it, and
// counts requests that ignored a Retry-After.
package ccloudsim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Server is the simulator; it implements http.Handler and is safe for
// concurrent use.
type Server struct {
	opts Options // immutable after New, except through the setters below

	mu      sync.Mutex
	creds   map[string]string
	tokens  map[string]struct{}
	limit   int
	period  time.Duration
	windows map[string]*window
	// scheduleStart is the first rate-limited request's time (RateSchedule).
	scheduleStart time.Time
	faults        Faults
	rng           *rand.Rand
	fixed         map[string]int
	peerings      map[string]Peering
	integrations  map[string]Integration
	log           []*Request
	stats         Stats
}

// New returns a simulator with no resources; seed them with SeedPeering,
// SeedIntegration or SeedDemo.
func New(opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:         opts,
		windows:      make(map[string]*window),
		fixed:        make(map[string]int),
		peerings:     make(map[string]Peering),
		integrations: make(map[string]Integration),
		stats:        Stats{ByStatus: make(map[int]int)},
		limit:        opts.RateLimit,
		period:       opts.RatePeriod,
	}
	s.setCredentialsLocked(opts.Credentials, opts.Tokens)
	s.setFaultsLocked(Faults{})
	return s, nil
}

// ServeHTTP handles one request: auth, rate limit, fixed responses and
// faults, routing, id, content type, body validation, lookup, update.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Now()
	body, tooLarge := readBody(r)
	id := newRequestID()
	who := s.authenticate(r)
	entry := s.logStart(r, body, who.label, start)

	resp := s.handle(r, who, body, tooLarge, id)

	s.logFinish(entry, resp, id)
	switch {
	case resp.abandoned:
		return
	case resp.drop:
		dropConnection(w)
		return
	}
	resp.write(w, id)
}

// handle runs the checks in the upstream's order and returns the response.
func (s *Server) handle(r *http.Request, who identity, body []byte, tooLarge bool, id string) response {
	if !who.ok {
		return unauthorized(id)
	}
	rl, limited := s.rateCheck(who.key)
	resp := s.afterRateLimit(r, body, tooLarge, id, limited, rl)
	rl.apply(&resp)
	return resp
}

// afterRateLimit produces the response of an authenticated request.
func (s *Server) afterRateLimit(r *http.Request, body []byte, tooLarge bool, id string, limited bool, rl rateHeaders) response {
	if limited {
		resp := tooManyRequests(id, rl.retryAfter)
		resp.rateLimited = true
		return resp
	}
	if resp, ok := s.fixedResponse(r.URL.Path, id); ok {
		return resp
	}
	if resp, ok := s.injectFault(r, id); ok {
		return resp
	}
	return s.route(r, body, tooLarge, id)
}
