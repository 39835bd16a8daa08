package ccloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/patchbay/patchbay/internal/tracectx"
)

// ErrInvalidBody is wrapped when the request body is not a JSON object.
// Such a body never reaches the upstream.
var ErrInvalidBody = errors.New("client: request body must be a JSON object")

// errURLMismatch is wrapped when the built URL is not BaseURL plus an
// operation path; it cannot happen for a validated id and exists as a guard.
var errURLMismatch = errors.New("client: request URL does not match the operation path")

// Do sends PATCH {BaseURL}{op.Path(id)} with the raw JSON body. It sends at
// most one request and never retries or sleeps.
//
// On a 2xx it returns (*Response, nil). Otherwise it returns the *Response
// (nil only when no response arrived) and one of:
//   - *RateLimitedError for 429;
//   - *RetryableError for 5xx except 501, timeouts, connection errors and
//     body-read failures (its Err satisfies errors.Is(err, context.Canceled)
//     when the caller cancelled ctx);
//   - *PermanentError for any other status, a malformed 2xx body, a 2xx body
//     over MaxBodyBytes, or input refused before any request was sent.
func (c *Client) Do(ctx context.Context, op Operation, id string, body []byte) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.newRequest(ctx, op, id, body)
	if err != nil {
		return nil, &PermanentError{Err: err}
	}
	hresp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, &RetryableError{Err: fmt.Errorf("PATCH %s: %w", req.URL.Path, unwrapURLError(err))}
	}
	defer closeBody(hresp.Body)

	raw, readErr := readLimited(hresp.Body, c.maxBodyBytes)
	if readErr != nil {
		resp := newResponse(hresp.StatusCode, hresp.Header, raw, c.now())
		return resp, readFailure(hresp.StatusCode, resp, readErr)
	}
	return decodeResponse(hresp.StatusCode, hresp.Header, raw, c.now())
}

// newRequest validates the input and builds the request; nothing is sent.
func (c *Client) newRequest(ctx context.Context, op Operation, id string, body []byte) (*http.Request, error) {
	path, err := op.Path(id)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, ErrInvalidBody
	}
	target := c.baseURL + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: build request: %w", err)
	}
	if err := c.checkURL(req, path); err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if tp := traceParent(ctx); tp != "" {
		req.Header.Set(tracectx.Header, tp)
	}
	return req, nil
}

// checkURL asserts that req targets exactly BaseURL + path and that path is
// one of the operation paths: no query, no fragment, no extra segment.
func (c *Client) checkURL(req *http.Request, path string) error {
	u := req.URL
	if u.String() != c.baseURL+path || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		u.User != nil || !isOperationPath(path) {
		return fmt.Errorf("%w: %w", ErrInvalidID, errURLMismatch)
	}
	return nil
}

// readLimited reads at most limit bytes; a longer body yields ErrBodyTooLarge
// together with the first limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return raw, fmt.Errorf("read body: %w", err)
	}
	if int64(len(raw)) > limit {
		return raw[:limit], fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return raw, nil
}

// readFailure classifies a response whose body could not be read in full.
// The status decides when it can: a 429 is still rate limited and a 4xx is
// still permanent. A 2xx over the size limit is permanent (retrying cannot
// shrink it); a 2xx cut short by the network is retryable, since the update
// is a PATCH and may be sent again.
func readFailure(status int, resp *Response, readErr error) error {
	switch {
	case status == http.StatusTooManyRequests:
		return &RateLimitedError{Wait: rateLimitWait(resp.RateLimit), Response: resp}
	case isRetryableStatus(status):
		return &RetryableError{Status: status, Response: resp, Err: readErr}
	case status >= 200 && status <= 299 && !errors.Is(readErr, ErrBodyTooLarge):
		return &RetryableError{Status: status, Response: resp, Err: readErr}
	default:
		return &PermanentError{Status: status, Response: resp, Err: readErr}
	}
}

// unwrapURLError drops the *url.Error wrapper (which repeats method and
// URL) while keeping its cause chain, so errors.Is still sees
// context.Canceled, context.DeadlineExceeded or a *net.OpError.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// closeBody drains a little of the body, so the connection can be reused,
// and closes it.
func closeBody(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, 4<<10)
	_ = b.Close()
}
