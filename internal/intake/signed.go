package intake

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/replay"
	"github.com/patchbay/patchbay/internal/webhooksig"
)

// Headers that carry a sender's delivery id, in the order they are looked at.
const (
	HeaderGitHubDelivery    = "X-GitHub-Delivery"
	HeaderAtlassianDelivery = "X-Atlassian-Webhook-Identifier"
)

// Context keys set by verifySigned.
const (
	rawBodyKey  = "patchbay.raw_body"
	deliveryKey = "patchbay.delivery"
)

// maxDeliveryIDLen bounds a delivery id.
const maxDeliveryIDLen = 128

// verifySigned authenticates a request signed with a caller's webhook
// secret (X-Hub-Signature-256). The request must carry a delivery id or an
// X-Patchbay-Timestamp (which is then part of the signed content) so that
// it cannot be replayed. The body read here is kept for the handler.
func (s *Server) verifySigned(c echo.Context, sigs []string) (*Caller, error) {
	if len(sigs) != 1 {
		return nil, badSignature("send exactly one X-Hub-Signature-256 header")
	}
	signers, secrets := s.callers.signers()
	if len(signers) == 0 {
		return nil, unauthenticated("no caller signs its requests; send Authorization: Bearer <token>")
	}
	h := c.Request().Header
	ts, ok := singleHeader(h, webhooksig.HeaderTimestamp)
	if !ok {
		return nil, badSignature("send at most one X-Patchbay-Timestamp header")
	}
	delivery, err := deliveryID(h)
	if err != nil {
		return nil, err
	}
	if ts != "" {
		if _, err := webhooksig.CheckTimestamp(ts, s.now(), s.cfg.MaxSignatureAge); err != nil {
			if errors.Is(err, webhooksig.ErrTimestampSkew) {
				return nil, fail(http.StatusUnauthorized, "signature_expired", "Authentication Required",
					"X-Patchbay-Timestamp is more than "+s.cfg.MaxSignatureAge.String()+" away from the server's clock", "")
			}
			return nil, badSignature("X-Patchbay-Timestamp must be the unix time in seconds")
		}
	}
	if ts == "" && delivery == "" {
		return nil, fail(http.StatusUnauthorized, "replay_protection_required", "Authentication Required",
			"a signed request needs X-Patchbay-Timestamp (signed as \"<timestamp>.<body>\"), X-GitHub-Delivery or X-Atlassian-Webhook-Identifier", "")
	}
	body, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	i, err := webhooksig.Match(secrets, sigs[0], webhooksig.Content(body, ts))
	switch {
	case errors.Is(err, webhooksig.ErrMalformed):
		return nil, badSignature("X-Hub-Signature-256 must be sha256=<64 hex digits>")
	case err != nil:
		return nil, badSignature("the signature does not match the request")
	}
	if delivery == "" {
		// Timestamped requests are remembered by their signature, so the
		// same signed request cannot be replayed within the allowed skew.
		delivery = "signature:" + strings.ToLower(sigs[0])
	}
	c.Set(rawBodyKey, body)
	c.Set(deliveryKey, delivery)
	return signers[i], nil
}

// badSignature is the 401 for a signature that does not verify.
func badSignature(detail string) *problem {
	return fail(http.StatusUnauthorized, "invalid_signature", "Authentication Required", detail, "")
}

// deliveryID returns the sender's delivery id, "" if none; more than one,
// or a malformed one, is a 400.
func deliveryID(h http.Header) (string, error) {
	found := ""
	for _, name := range []string{HeaderGitHubDelivery, HeaderAtlassianDelivery} {
		v, ok := singleHeader(h, name)
		switch {
		case !ok || (v != "" && found != ""):
			return "", failParam(http.StatusBadRequest, "invalid_delivery_id", "Bad Request",
				"send one delivery id header", name)
		case v == "":
			continue
		case len(v) > maxDeliveryIDLen || !printableASCII(v):
			return "", failParam(http.StatusBadRequest, "invalid_delivery_id", "Bad Request",
				"a delivery id must be 1 to 128 printable ASCII characters", name)
		}
		found = v
	}
	return found, nil
}

// rememberDelivery records the delivery id of a signed request; a replay is
// a 409. The returned function forgets it again (when the change could not
// be queued, so that the sender's retry is accepted).
func (s *Server) rememberDelivery(ctx context.Context, c echo.Context, caller *Caller) (forget func(), err error) {
	delivery, _ := c.Get(deliveryKey).(string)
	if delivery == "" {
		return func() {}, nil
	}
	rev, err := s.deliveries.Remember(ctx, caller.Name, delivery)
	switch {
	case errors.Is(err, replay.ErrReplayed):
		return nil, fail(http.StatusConflict, "delivery_replayed", "Conflict",
			"this signed request (delivery) was already received", "")
	case err != nil:
		s.logger.Error("remember delivery failed", "error", err)
		return nil, unavailable()
	}
	return func() {
		if err := s.deliveries.Forget(context.WithoutCancel(ctx), caller.Name, delivery, rev); err != nil {
			s.logger.Warn("forget delivery failed", "error", err)
		}
	}, nil
}

// singleHeader returns the value of a header sent at most once; ok is
// false when it was sent more than once.
func singleHeader(h http.Header, name string) (string, bool) {
	vs := h.Values(name)
	switch len(vs) {
	case 0:
		return "", true
	case 1:
		return vs[0], true
	default:
		return "", false
	}
}
