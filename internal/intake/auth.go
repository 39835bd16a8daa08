package intake

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Callers are the intake's known callers, by token.
type Callers struct {
	callers []caller
}

type caller struct {
	name string
	hash [32]byte
}

// ErrCallers reports a malformed API_TOKENS value.
var ErrCallers = errors.New("intake: invalid callers")

// ParseCallers parses "name=token,name2=token2". Names must be unique, tokens
// at least 16 characters. The tokens are kept only as SHA-256 hashes.
func ParseCallers(spec string) (*Callers, error) {
	cs := &Callers{}
	seen := map[string]bool{}
	for i, pair := range strings.Split(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, token, ok := strings.Cut(pair, "=")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		switch {
		case !ok || name == "" || token == "":
			return nil, fmt.Errorf("%w: entry %d is not name=token", ErrCallers, i+1)
		case len(token) < 16:
			return nil, fmt.Errorf("%w: token of caller %q is shorter than 16 characters", ErrCallers, name)
		case seen[name]:
			return nil, fmt.Errorf("%w: caller %q appears twice", ErrCallers, name)
		}
		seen[name] = true
		cs.callers = append(cs.callers, caller{name: name, hash: sha256.Sum256([]byte(token))})
	}
	if len(cs.callers) == 0 {
		return nil, fmt.Errorf("%w: no callers", ErrCallers)
	}
	return cs, nil
}

// Len is the number of callers.
func (cs *Callers) Len() int { return len(cs.callers) }

// Lookup returns the caller's name for a token, comparing in constant time
// against every caller.
func (cs *Callers) Lookup(token string) (string, bool) {
	h := sha256.Sum256([]byte(token))
	found := ""
	for _, c := range cs.callers {
		if subtle.ConstantTimeCompare(h[:], c.hash[:]) == 1 {
			found = c.name
		}
	}
	return found, found != ""
}

const callerKey = "patchbay.caller"

// authenticate is the bearer-token middleware; it stores the caller's name.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.callers == nil { // explicitly insecure development mode
			c.Set(callerKey, "anonymous")
			return next(c)
		}
		scheme, token, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return fail(http.StatusUnauthorized, "user_unauthenticated", "Authentication Required",
				"send Authorization: Bearer <token>", "").withHeader("WWW-Authenticate", `Bearer realm="patchbay"`)
		}
		name, ok := s.callers.Lookup(strings.TrimSpace(token))
		if !ok {
			return fail(http.StatusUnauthorized, "user_unauthenticated", "Authentication Required",
				"the bearer token is not valid", "").withHeader("WWW-Authenticate", `Bearer realm="patchbay", error="invalid_token"`)
		}
		c.Set(callerKey, name)
		return next(c)
	}
}

func callerOf(c echo.Context) string {
	name, _ := c.Get(callerKey).(string)
	return name
}
