package ccloudsim

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// SetFaults replaces the fault-injection settings and reseeds the random source.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

// setFaultsLocked stores f with rates clamped to 0..1; s.mu must be held (or s unshared).
func (s *Server) setFaultsLocked(f Faults) {
	for _, r := range []*float64{&f.Rate500, &f.Rate502, &f.Rate503, &f.SlowRate, &f.DropRate} {
		*r = min(max(*r, 0), 1)
	}
	s.faults = f
	seed := uint64(f.Seed)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// faultKind is the outcome drawn for one request.
type faultKind int

const (
	faultNone faultKind = iota
	fault500
	fault502
	fault503
	faultDrop
)

// drawFault draws whether to slow the request down and which fault, if any, to inject.
func (s *Server) drawFault() (time.Duration, faultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	var slow time.Duration
	if s.rng.Float64() < f.SlowRate {
		slow = f.SlowDelay
	}
	x := s.rng.Float64()
	switch {
	case x < f.Rate500:
		return slow, fault500
	case x < f.Rate500+f.Rate502:
		return slow, fault502
	case x < f.Rate500+f.Rate502+f.Rate503:
		return slow, fault503
	case x < f.Rate500+f.Rate502+f.Rate503+f.DropRate:
		return slow, faultDrop
	default:
		return slow, faultNone
	}
}

// injectFault delays the request and/or answers it with a fault; ok reports
// whether the response replaces normal handling.
func (s *Server) injectFault(r *http.Request, id string) (response, bool) {
	slow, kind := s.drawFault()
	if slow > 0 {
		t := time.NewTimer(slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return response{abandoned: true}, true
		}
	}
	switch kind {
	case fault500:
		return errorResponse(id, http.StatusInternalServerError, "internal_server_error", "Oops, something went wrong!",
			"An internal error occurred; please retry.", ""), true
	case fault502:
		return errorResponse(id, http.StatusBadGateway, "bad_gateway", "Bad Gateway",
			"The upstream service returned an invalid response; please retry.", ""), true
	case fault503:
		return errorResponse(id, http.StatusServiceUnavailable, "service_unavailable", "Service Unavailable",
			"The service is temporarily unavailable; please retry.", ""), true
	case faultDrop:
		return response{drop: true}, true
	default:
		return response{}, false
	}
}
