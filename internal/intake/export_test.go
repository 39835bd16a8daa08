package intake

import "github.com/labstack/echo/v4"

// Test-only views of the server.

// Routes lists "METHOD path" of every route (for the OpenAPI test).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// InFlightLongPolls reports how many long-polls are waiting right now.
func (s *Server) InFlightLongPolls() int { return s.longPolls.inFlight() }

// OpenAPI returns the OpenAPI 3 document of the intake.
func OpenAPI() []byte { return append([]byte(nil), openapiDoc...) }
