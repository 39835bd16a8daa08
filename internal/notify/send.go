package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/patchbay/patchbay/internal/outbound"
)

// Doer sends HTTP requests; the outbound client (an *http.Client) is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// UserAgent names the notifier to receivers.
const UserAgent = "patchbay-notifier"

// SiteURL parses the base URL of a ticketing system (absolute, no path but
// "/", no query) and checks it against policy; shape is the error when it
// is not such a URL.
func SiteURL(raw, shape string, policy outbound.Policy) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New(shape)
	}
	if err := policy.CheckURL(u); err != nil {
		return nil, err
	}
	return u, nil
}

// Send does req with client and classifies the outcome: a transport error
// (see TransportError) or the receiver's status (see Classify). The answer's
// body is read (up to 64 KiB, so the connection can be reused) and closed.
func Send(client Doer, req *http.Request, now func() time.Time) error {
	req.Header.Set("User-Agent", UserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return TransportError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return Classify(resp, now())
}

// SendJSON sends v as a JSON body with method to u, authenticated by auth,
// and classifies the outcome as Send does.
func SendJSON(ctx context.Context, client Doer, method string, u *url.URL, v any, auth func(*http.Request), now func() time.Time) error {
	body, err := json.Marshal(v)
	if err != nil {
		return Permanent("encode_failed", "encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return Permanent("bad_request", "build request")
	}
	auth(req)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return Send(client, req, now)
}
