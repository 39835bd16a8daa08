package intake

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/webhooksig"
)

// callerKey holds the authenticated *Caller in the echo context.
const callerKey = "patchbay.caller"

// authenticate is the authentication middleware. A request carries either
// one Authorization: Bearer header or, where signed is true (the PATCH
// routes), one X-Hub-Signature-256 header; never both. It stores the
// *Caller for the handlers.
func (s *Server) authenticate(signed bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.callers == nil { // explicitly insecure development mode
				c.Set(callerKey, &Caller{Name: "anonymous", Scope: FullScope()})
				return next(c)
			}
			h := c.Request().Header
			auths, sigs := h.Values(echo.HeaderAuthorization), h.Values(webhooksig.HeaderSignature)
			var caller *Caller
			var err error
			switch {
			case len(auths) > 0 && len(sigs) > 0:
				err = unauthenticated("send either Authorization: Bearer <token> or X-Hub-Signature-256, not both")
			case len(sigs) > 0 && signed:
				caller, err = s.verifySigned(c, sigs)
			case len(sigs) > 0:
				err = unauthenticated("signed requests are accepted only on the change routes; send Authorization: Bearer <token>")
			default:
				caller, err = s.bearer(auths)
			}
			if err != nil {
				return err
			}
			c.Set(callerKey, caller)
			return next(c)
		}
	}
}

// bearer authenticates the Authorization header values.
func (s *Server) bearer(values []string) (*Caller, error) {
	switch len(values) {
	case 0:
		return nil, unauthenticated("send Authorization: Bearer <token>")
	case 1:
	default:
		return nil, unauthenticated("send exactly one Authorization header")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, unauthenticated("send Authorization: Bearer <token>")
	}
	caller := s.callers.byToken(token)
	if caller == nil {
		return nil, fail(http.StatusUnauthorized, "user_unauthenticated", "Authentication Required",
			"the bearer token is not valid", "").withHeader("WWW-Authenticate", `Bearer realm="patchbay", error="invalid_token"`)
	}
	return caller, nil
}

// unauthenticated is a 401 asking for credentials.
func unauthenticated(detail string) *problem {
	return fail(http.StatusUnauthorized, "user_unauthenticated", "Authentication Required", detail, "").
		withHeader("WWW-Authenticate", `Bearer realm="patchbay"`)
}

// callerFrom returns the authenticated caller (set by authenticate).
func callerFrom(c echo.Context) *Caller {
	caller, _ := c.Get(callerKey).(*Caller)
	if caller == nil {
		return &Caller{Name: "unknown"}
	}
	return caller
}

// callerOf returns the authenticated caller's name.
func callerOf(c echo.Context) string { return callerFrom(c).Name }
