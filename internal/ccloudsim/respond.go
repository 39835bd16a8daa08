package ccloudsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/patchbay/patchbay/internal/apierror"
)

// response is what a handler decided to answer.
type response struct {
	status      int
	headers     http.Header
	body        []byte
	rateLimited bool // a 429 from the rate limiter
	drop        bool // close the connection without answering
	abandoned   bool // the client went away; nothing to write
}

// header adds a response header.
func (r *response) header(k, v string) {
	if r.headers == nil {
		r.headers = make(http.Header)
	}
	r.headers.Set(k, v)
}

// write sends the response with X-Request-Id and a JSON content type.
func (r response) write(w http.ResponseWriter, id string) {
	h := w.Header()
	for k, vs := range r.headers {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Request-Id", id)
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body) // the client may be gone; nothing to do about it
}

// jsonResponse is a 2xx with a rendered body.
func jsonResponse(status int, body []byte) response {
	return response{status: status, body: body}
}

// envelopeResponse answers with a full envelope, stamping each entry with the request id.
func envelopeResponse(id string, status int, env apierror.Envelope) response {
	errs := make([]apierror.Error, len(env.Errors))
	copy(errs, env.Errors)
	for i := range errs {
		errs[i].ID = id
	}
	body, err := json.Marshal(apierror.Envelope{Errors: errs})
	if err != nil { // cannot happen for these plain structs
		body = []byte(`{"errors":[{"status":"500","code":"internal_server_error"}]}`)
		status = http.StatusInternalServerError
	}
	return response{status: status, body: body}
}

// errorResponse answers with a single-entry envelope.
func errorResponse(id string, status int, code, title, detail, pointer string) response {
	return envelopeResponse(id, status, apierror.New(status, code, title, detail, pointer))
}

// unauthorized is the 401 of a missing or wrong credential.
func unauthorized(id string) response {
	resp := errorResponse(id, http.StatusUnauthorized, "user_unauthenticated", "Unauthenticated",
		"The request lacks valid authentication credentials for this resource.", "")
	resp.header("WWW-Authenticate", `Basic error="invalid_key", error_description="The API Key is invalid"`)
	return resp
}

// newRequestID returns a random UUID v4.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// readBody reads up to MaxBodyBytes of the body and reports whether it was longer.
func readBody(r *http.Request) ([]byte, bool) {
	if r.Body == nil {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return body, false // a broken body fails validation later
	}
	if len(body) > MaxBodyBytes {
		return body[:MaxBodyBytes], true
	}
	return body, false
}

// dropConnection closes the client connection without a response. Without a
// hijackable connection (HTTP/2, a recorder) it aborts the handler the way
// net/http documents, which also resets the stream.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
