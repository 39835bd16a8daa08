package ccloud

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
)

// RateLimitedError reports a 429 from the upstream. The caller must not send
// another request with the same credentials before Wait has elapsed.
type RateLimitedError struct {
	// Wait is Retry-After, else X-RateLimit-Reset, else 0 meaning unknown.
	Wait time.Duration
	// Response is the upstream response.
	Response *Response
}

// Error implements error.
func (e *RateLimitedError) Error() string {
	var b strings.Builder
	b.WriteString("upstream rate limited (status 429)")
	if e.Wait > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.Wait)
	} else {
		b.WriteString(", wait unknown")
	}
	writeResponseSummary(&b, e.Response)
	return b.String()
}

// RetryableError reports a failure that may succeed if tried again later:
// a 5xx other than 501, a timeout, or a transport error.
type RetryableError struct {
	// Status is the HTTP status, or 0 when no response arrived.
	Status int
	// Response is the upstream response, or nil when none arrived.
	Response *Response
	// Err is the underlying cause.
	Err error
}

// Error implements error.
func (e *RetryableError) Error() string {
	return formatError("upstream retryable error", e.Status, e.Response, e.Err)
}

// Unwrap returns the underlying cause.
func (e *RetryableError) Unwrap() error { return e.Err }

// PermanentError reports a failure that will not succeed if retried
// unchanged: a 4xx other than 429, a 501, a 3xx or other unexpected status,
// a malformed 2xx body, or input refused before any request was sent
// (Status 0, Err wrapping ErrInvalidID, ErrUnknownOperation or ErrInvalidBody).
type PermanentError struct {
	// Status is the HTTP status, or 0 when no request was sent.
	Status int
	// Response is the upstream response, or nil when none arrived.
	Response *Response
	// Err is the underlying cause; for an error envelope it is an apierror.Envelope.
	Err error
}

// Error implements error.
func (e *PermanentError) Error() string {
	if e.Status == 0 && e.Response == nil {
		return formatError("request refused, nothing sent", 0, nil, e.Err)
	}
	return formatError("upstream permanent error", e.Status, e.Response, e.Err)
}

// Unwrap returns the underlying cause.
func (e *PermanentError) Unwrap() error { return e.Err }

// formatError renders the common shape of RetryableError and PermanentError.
// When the cause is the envelope itself, the envelope is summarised once.
func formatError(prefix string, status int, resp *Response, cause error) string {
	var b strings.Builder
	b.WriteString(prefix)
	if status != 0 {
		fmt.Fprintf(&b, " (status %d)", status)
	}
	writeResponseSummary(&b, resp)
	if _, isEnv := cause.(apierror.Envelope); cause != nil && !isEnv {
		b.WriteString(": ")
		b.WriteString(cause.Error())
	}
	return b.String()
}

// writeResponseSummary appends the request id and the first envelope entry.
// It never writes the body, only code, title, detail and pointer.
func writeResponseSummary(b *strings.Builder, resp *Response) {
	if resp == nil {
		return
	}
	if resp.RequestID != "" {
		fmt.Fprintf(b, " [request id %s]", resp.RequestID)
	}
	if len(resp.Errors) == 0 {
		return
	}
	first := resp.Errors[0]
	b.WriteString(": ")
	parts := make([]string, 0, 3)
	for _, s := range []string{first.Code, first.Title, first.Detail} {
		if s = sanitize(s, maxFieldLen); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		b.WriteString("error envelope without code, title or detail")
	} else {
		b.WriteString(strings.Join(parts, ": "))
	}
	if first.Source != nil && first.Source.Pointer != "" {
		fmt.Fprintf(b, " (at %s)", sanitize(first.Source.Pointer, maxFieldLen))
	}
	if n := len(resp.Errors); n > 1 {
		fmt.Fprintf(b, " (and %d more)", n-1)
	}
}

// maxFieldLen bounds each upstream string copied into an error message.
const maxFieldLen = 256

// urlPattern matches anything that looks like an absolute URL, so a Slack
// or Teams webhook echoed in an upstream message never reaches an error string.
var urlPattern = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^\s"'<>]*`)

// sanitize makes an upstream string safe to log: URLs are redacted, control
// characters become spaces, and the result is truncated to maxLen bytes.
func sanitize(s string, maxLen int) string {
	s = urlPattern.ReplaceAllString(s, "[redacted-url]")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// isRuneStart reports whether b begins a UTF-8 sequence.
func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
