package ccloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/patchbay/patchbay/internal/apierror"
)

// ErrNonJSONBody is wrapped when an upstream body is not the JSON the
// status promises (a resource for 2xx, an error envelope otherwise).
var ErrNonJSONBody = errors.New("upstream returned non-JSON body")

// ErrBodyTooLarge is wrapped when a response body exceeds Config.MaxBodyBytes.
var ErrBodyTooLarge = errors.New("upstream response body too large")

// Response is what the client kept of one upstream response.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// RequestID is X-Request-Id.
	RequestID string
	// RateLimit is the parsed rate-limit headers.
	RateLimit RateLimit
	// Body is the raw body, at most Config.MaxBodyBytes. For 2xx it is the
	// resource JSON. It may contain secrets (webhook URLs): never log it.
	Body []byte
	// Errors is the parsed error envelope on non-2xx statuses, every entry
	// with its source pointer, as the upstream wrote it (it may echo a
	// webhook URL: the Err of the typed errors holds a redacted copy).
	Errors []apierror.Error
	// Location is the Location header: the conflicting resource on a 409.
	Location string
}

// String summarises r without its body, which may hold secrets.
func (r Response) String() string {
	return fmt.Sprintf("client.Response{Status:%d RequestID:%q RateLimit:%+v Errors:%d Location:%q Body:%d bytes}",
		r.Status, r.RequestID, r.RateLimit, len(r.Errors), r.Location, len(r.Body))
}

// Envelope returns the error envelope of r (empty for a nil r or a 2xx).
func (r *Response) Envelope() apierror.Envelope {
	if r == nil {
		return apierror.Envelope{}
	}
	return apierror.Envelope{Errors: r.Errors}
}

// maxRequestIDLen bounds the X-Request-Id kept from the upstream.
const maxRequestIDLen = 128

// newResponse builds a Response from the status, headers and body.
func newResponse(status int, h http.Header, body []byte, now time.Time) *Response {
	return &Response{
		Status:    status,
		RequestID: sanitize(h.Get(HeaderRequestID), maxRequestIDLen),
		RateLimit: ParseRateLimit(h, now),
		Body:      body,
		Location:  h.Get("Location"),
	}
}

// decodeResponse classifies a fully read upstream response. It returns a
// non-nil *Response always, and an error of type *RateLimitedError,
// *RetryableError or *PermanentError for anything but a 2xx with a JSON
// object body (or an empty 204). It never panics.
func decodeResponse(status int, h http.Header, body []byte, now time.Time) (*Response, error) {
	resp := newResponse(status, h, body, now)
	if status >= 200 && status <= 299 {
		if err := checkSuccessBody(status, h, body); err != nil {
			return resp, &PermanentError{Status: status, Response: resp, Err: err}
		}
		return resp, nil
	}
	cause := decodeEnvelope(resp, h)
	return resp, classify(status, resp, cause)
}

// checkSuccessBody accepts a JSON object, or an empty body on 204.
func checkSuccessBody(status int, h http.Header, body []byte) error {
	if len(body) == 0 && status == http.StatusNoContent {
		return nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return fmt.Errorf("%w (status %d, %d bytes, content-type %s): want a JSON object",
			ErrNonJSONBody, status, len(body), quoteShort(h.Get("Content-Type")))
	}
	return nil
}

// decodeEnvelope fills resp.Errors and returns the cause to wrap: the
// envelope itself, or an error describing why there is none.
func decodeEnvelope(resp *Response, h http.Header) error {
	env, err := apierror.Decode(resp.Body)
	if err != nil {
		return fmt.Errorf("%w (status %d, %d bytes, content-type %s): no error envelope",
			ErrNonJSONBody, resp.Status, len(resp.Body), quoteShort(h.Get("Content-Type")))
	}
	resp.Errors = env.Errors
	return sanitizeEnvelope(env)
}

// sanitizeEnvelope returns a copy of env safe to log (see sanitize), used as
// the Err of typed errors; Response.Errors keeps the upstream's text.
func sanitizeEnvelope(env apierror.Envelope) apierror.Envelope {
	out := apierror.Envelope{Errors: make([]apierror.Error, len(env.Errors))}
	for i, e := range env.Errors {
		out.Errors[i] = apierror.Error{
			ID:     sanitize(e.ID, maxFieldLen),
			Status: sanitize(e.Status, maxFieldLen),
			Code:   sanitize(e.Code, maxFieldLen),
			Title:  sanitize(e.Title, maxFieldLen),
			Detail: sanitize(e.Detail, maxFieldLen),
		}
		if e.Source != nil {
			out.Errors[i].Source = &apierror.Source{
				Pointer:   sanitize(e.Source.Pointer, maxFieldLen),
				Parameter: sanitize(e.Source.Parameter, maxFieldLen),
			}
		}
	}
	return out
}

// classify maps a non-2xx status to the error type that steers the caller.
func classify(status int, resp *Response, cause error) error {
	switch {
	case status == http.StatusTooManyRequests:
		return &RateLimitedError{Wait: rateLimitWait(resp.RateLimit), Response: resp}
	case isRetryableStatus(status):
		return &RetryableError{Status: status, Response: resp, Err: cause}
	default:
		return &PermanentError{Status: status, Response: resp, Err: cause}
	}
}

// isRetryableStatus reports whether a status is worth retrying: any 5xx
// except 501 Not Implemented.
func isRetryableStatus(status int) bool {
	return status >= 500 && status <= 599 && status != http.StatusNotImplemented
}
