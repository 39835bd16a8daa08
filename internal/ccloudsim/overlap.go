package ccloudsim

// Overlap is two requests to the same path that were in flight at once.
type Overlap struct {
	Path string
	// First arrived first; Second arrived before First was answered.
	First, Second Request
}

// Overlaps returns every request that arrived at a path while an earlier
// request to the same path was still in flight (from arrival to response;
// a request still in flight counts as open). Requests of a method other
// than PATCH are ignored.
func (s *Server) Overlaps() []Overlap {
	var out []Overlap
	open := map[string]Request{} // the request with the latest end so far, per path
	for _, r := range s.Requests() {
		if r.Method != "PATCH" {
			continue
		}
		if prev, ok := open[r.Path]; ok && (prev.End.IsZero() || r.Start.Before(prev.End)) {
			out = append(out, Overlap{Path: r.Path, First: prev, Second: r})
		}
		if prev, ok := open[r.Path]; !ok || !prev.End.IsZero() && (r.End.IsZero() || r.End.After(prev.End)) {
			open[r.Path] = r
		}
	}
	return out
}

// InFlight reports how many requests have arrived and not been answered.
func (s *Server) InFlight() int {
	n := 0
	for _, r := range s.Requests() {
		if r.End.IsZero() {
			n++
		}
	}
	return n
}
