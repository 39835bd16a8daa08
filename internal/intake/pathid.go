package intake

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/schema"
)

// checkPathID refuses a resource id that could not be an upstream id before
// anything else looks at the request (authentication, body, queue).
func (s *Server) checkPathID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !schema.ValidID(c.Param("id")) {
			return invalidPathID()
		}
		return next(c)
	}
}

func invalidPathID() *problem {
	return failParam(http.StatusUnprocessableEntity, "invalid_id", "Invalid Resource Id",
		"the id in the path must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$", "id")
}
