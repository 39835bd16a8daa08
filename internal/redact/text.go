package redact

import (
	"regexp"
	"strings"

	"github.com/patchbay/patchbay/internal/apierror"
)

// urlInText matches anything that looks like an absolute URL in free text.
var urlInText = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.\-]*://[^\s"'<>\x60]+`)

// credentialInText matches "Bearer <token>" and "Basic <credentials>".
var credentialInText = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9\-._~+/]+=*)`)

// Text masks secrets in free text (error details, log messages): every
// absolute URL is passed through URL (so Slack and Teams webhook URLs vanish
// and other URLs lose credentials and query), and the credentials after
// "Bearer" or "Basic" are masked. secrets are known secret values, masked
// wherever they appear (see Strings).
func Text(s string, secrets ...string) string {
	s = Strings(s, secrets...)
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, URL)
	}
	if !containsFold(s, "bearer") && !containsFold(s, "basic") {
		return s
	}
	return credentialInText.ReplaceAllStringFunc(s, func(m string) string {
		sub := credentialInText.FindStringSubmatch(m)
		if !looksLikeCredential(sub[3]) {
			return m
		}
		return sub[1] + sub[2] + Mask
	})
}

// containsFold reports whether s contains the lower-case ASCII word w,
// ignoring case, without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// looksLikeCredential tells a token ("Bearer abc123...") from prose ("Basic
// authentication"): 16 characters or more, or any digit or symbol.
func looksLikeCredential(tok string) bool {
	if len(tok) >= 16 {
		return true
	}
	return strings.ContainsAny(tok, "0123456789-._~+/=")
}

// APIError returns e with its free-text fields passed through Text, for an
// upstream error entry stored on a change record or published in an event.
func APIError(e apierror.Error, secrets ...string) apierror.Error {
	e.ID = Text(e.ID, secrets...)
	e.Code = Text(e.Code, secrets...)
	e.Title = Text(e.Title, secrets...)
	e.Detail = Text(e.Detail, secrets...)
	if e.Source != nil {
		src := *e.Source
		src.Pointer = Text(src.Pointer, secrets...)
		src.Parameter = Text(src.Parameter, secrets...)
		e.Source = &src
	}
	return e
}
