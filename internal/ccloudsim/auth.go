package ccloudsim

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// identity is the outcome of authentication.
type identity struct {
	ok    bool
	key   string // rate-limit key; may hold a token, never logged
	label string // log label: API key or "bearer:<first 4 chars>…", never a secret
}

// authenticate checks HTTP Basic (API key and secret) or Bearer credentials.
func (s *Server) authenticate(r *http.Request) identity {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		key, secret, ok := r.BasicAuth()
		if !ok {
			return identity{}
		}
		s.mu.Lock()
		want, known := s.creds[key]
		s.mu.Unlock()
		good := known && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1
		return identity{ok: good, key: "basic:" + key, label: key}
	case strings.EqualFold(scheme, "Bearer"):
		tok := strings.TrimSpace(rest)
		if tok == "" {
			return identity{}
		}
		s.mu.Lock()
		_, good := s.tokens[tok]
		s.mu.Unlock()
		return identity{ok: good, key: "bearer:" + tok, label: tokenLabel(tok)}
	default:
		return identity{}
	}
}

// tokenLabel identifies a token in the log without revealing it: the first
// four characters, or none when the token is too short to spare them.
func tokenLabel(tok string) string {
	const shown, minLen = 4, 12
	if len(tok) < minLen {
		return "bearer:…"
	}
	return "bearer:" + tok[:shown] + "…"
}

// SetCredentials replaces the accepted API keys (key -> secret) and Bearer tokens.
func (s *Server) SetCredentials(creds map[string]string, tokens []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setCredentialsLocked(creds, tokens)
}

// setCredentialsLocked copies the credentials; s.mu must be held (or s unshared).
func (s *Server) setCredentialsLocked(creds map[string]string, tokens []string) {
	s.creds = make(map[string]string, len(creds))
	for k, v := range creds {
		s.creds[k] = v
	}
	s.tokens = make(map[string]struct{}, len(tokens))
	for _, t := range tokens {
		s.tokens[t] = struct{}{}
	}
}
