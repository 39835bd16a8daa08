package slackapp

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/slack-go/slack"
)

// Errors of request verification, each answered with its own status.
var (
	errTooLarge     = errors.New("slackapp: request body too large")
	errNotForm      = errors.New("slackapp: not a form-encoded request")
	errUnreadable   = errors.New("slackapp: request body could not be read")
	errBadSignature = errors.New("slackapp: missing, stale or invalid Slack signature")
)

// readVerified reads the body (at most max bytes, refused before reading
// when Content-Length says more) and verifies Slack's signature with
// slack-go: v0 HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing
// secret, compared in constant time, the timestamp within 5 minutes of the
// wall clock. On success r.Body is replaced by the verified bytes, ready
// for slack.SlashCommandParse or slack.InteractionCallbackParse.
func readVerified(r *http.Request, secret string, max int64) ([]byte, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errNotForm
	}
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, errUnreadable
	}
	if int64(len(body)) > max {
		return nil, errTooLarge
	}
	sv, err := slack.NewSecretsVerifier(r.Header, secret)
	if err != nil {
		return nil, errBadSignature
	}
	if _, err := sv.Write(body); err != nil {
		return nil, errBadSignature
	}
	if err := sv.Ensure(); err != nil {
		return nil, errBadSignature
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, nil
}

// refuseRequest answers a request that failed verification. Slack shows
// nothing of it to users; the status is for logs and tests.
func refuseRequest(w http.ResponseWriter, err error) {
	status := http.StatusUnauthorized
	switch {
	case errors.Is(err, errTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, errNotForm):
		status = http.StatusUnsupportedMediaType
	case errors.Is(err, errUnreadable):
		status = http.StatusBadRequest
	}
	http.Error(w, http.StatusText(status), status)
}
