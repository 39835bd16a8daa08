package ccloudsim

import "net/http"

// SetFixedResponse makes every authenticated, non-rate-limited request to
// path (e.g. "/networking/v1/peerings/p-1") answer status with a proper
// envelope (404 resource_not_found, 409 resource_already_exists with
// Location, 500 internal_server_error, any other status a generic entry).
func (s *Server) SetFixedResponse(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixed[path] = status
}

// ClearFixedResponses removes every fixed response.
func (s *Server) ClearFixedResponses() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixed = make(map[string]int)
}

// fixedResponse returns the fixed response for path, if one is set.
func (s *Server) fixedResponse(path, id string) (response, bool) {
	s.mu.Lock()
	status, ok := s.fixed[path]
	s.mu.Unlock()
	if !ok {
		return response{}, false
	}
	switch status {
	case http.StatusNotFound:
		return notFound(id, "The requested resource was not found."), true
	case http.StatusConflict:
		resp := errorResponse(id, status, "resource_already_exists", "Conflict",
			"The request is in conflict with the current server state.", "")
		resp.header("Location", s.opts.BaseURL+path)
		return resp, true
	case http.StatusInternalServerError:
		return errorResponse(id, status, "internal_server_error", "Oops, something went wrong!",
			"An internal error occurred; please retry.", ""), true
	default:
		text := http.StatusText(status)
		if text == "" {
			text = "Error"
		}
		return errorResponse(id, status, "fixed_response", text, "Fixed response configured in the simulator.", ""), true
	}
}

// notFound is a 404 for a missing resource.
func notFound(id, detail string) response {
	return errorResponse(id, http.StatusNotFound, "resource_not_found", "Not Found", detail, "")
}
