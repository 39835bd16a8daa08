package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/schema"
)

// operation ties an intake route to its upstream operation and validator.
type operation struct {
	op       ccloud.Operation
	validate func([]byte) error
	// environment extracts the peering environment of a valid body, for
	// callers scoped to environments; nil for kinds without one.
	environment func([]byte) string
}

var (
	peeringOp     = operation{op: ccloud.UpdatePeering, validate: schema.ValidatePeeringUpdate, environment: peeringEnvironment}
	integrationOp = operation{op: ccloud.UpdateIntegration, validate: schema.ValidateIntegrationUpdate}
)

// patch returns the handler that queues one kind of change. The path id is
// checked first, then the caller's scope, the headers, the body, and last
// the replay of a signed delivery.
func (s *Server) patch(o operation) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		path, err := o.op.Path(id) // checkPathID has refused bad ids; Path checks again
		if err != nil {
			return invalidPathID()
		}
		caller := callerFrom(c)
		switch {
		case !caller.Scope.Allows(Permission(o.op)):
			return forbidOperation(caller, Permission(o.op))
		case !caller.Scope.AllowsResource(id):
			return forbidResource(caller, o.op.Kind(), id)
		}
		key, ok := singleHeader(c.Request().Header, "Idempotency-Key")
		if !ok || len(key) > 255 || !printableASCII(key) {
			return failParam(http.StatusBadRequest, "invalid_idempotency_key", "Invalid Idempotency-Key",
				"Idempotency-Key must be 1 to 255 printable ASCII characters", "Idempotency-Key")
		}
		if d, _ := c.Get(deliveryKey).(string); key == "" && d != "" {
			// A signed delivery is its own idempotency key: the sender's
			// redelivery after a 503 continues the same change.
			key = "delivery:" + d
		}
		who, err := s.auditOf(c)
		if err != nil {
			return err
		}
		body, err := s.readJSONBody(c)
		if err != nil {
			return err
		}
		if err := o.validate(body); err != nil {
			var se *schema.Error
			if errors.As(err, &se) {
				return &problem{status: se.Status, envelope: se.Envelope}
			}
			return fail(http.StatusBadRequest, "invalid_body", "Bad Request", "the body could not be validated", "")
		}
		if o.environment != nil && caller.Scope.restrictsEnvironments() && !caller.Scope.AllowsEnvironment(o.environment(body)) {
			return forbidEnvironment(caller)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			return fail(http.StatusBadRequest, "malformed_json", "Bad Request", "the body is not valid JSON", "")
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.EnqueueTimeout)
		defer cancel()
		forget, err := s.rememberDelivery(ctx, c, caller)
		if err != nil {
			return err
		}
		rec, created, err := s.queue.Enqueue(ctx, queue.Request{
			Operation:      string(o.op),
			Resource:       change.Resource{Kind: o.op.Kind(), ID: id, Path: path},
			Body:           compact.Bytes(),
			RequestedBy:    caller.Name,
			IdempotencyKey: key,
			TraceParent:    c.Request().Header.Get("traceparent"),
			ClientAddress:  who.clientAddress,
			Reason:         who.reason,
			Ticket:         who.ticket,
		})
		if err != nil {
			forget()
		}
		switch {
		case errors.Is(err, queue.ErrIdempotencyConflict):
			return failParam(http.StatusConflict, "idempotency_key_reused", "Conflict",
				"this Idempotency-Key was already used with a different request", "Idempotency-Key")
		case err != nil:
			s.logger.Error("enqueue failed", "operation", o.op, "resource", path, "error", err)
			return queueUnavailable(err, key != "")
		}
		if created {
			s.metrics.Accepted.WithLabelValues(string(o.op)).Inc()
			s.logger.Info("change accepted", "change_id", rec.ID, "operation", o.op, "resource", path, "requested_by", rec.RequestedBy)
		} else {
			c.Response().Header().Set("Idempotent-Replayed", "true")
		}
		c.Response().Header().Set(echo.HeaderLocation, "/v1/changes/"+rec.ID)
		return c.JSON(http.StatusAccepted, rec)
	}
}

// peeringEnvironment returns spec.environment.id of a valid peering body.
func peeringEnvironment(body []byte) string {
	var b struct {
		Spec struct {
			Environment struct {
				ID string `json:"id"`
			} `json:"environment"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &b) // the body is valid: the id is a string
	return b.Spec.Environment.ID
}

// readJSONBody enforces the media type (exactly one Content-Type,
// application/json, utf-8 if a charset is given) and the size limit. A
// signed request's body was already read by verifySigned.
func (s *Server) readJSONBody(c echo.Context) ([]byte, error) {
	ct, ok := singleHeader(c.Request().Header, echo.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if !ok || err != nil || mt != echo.MIMEApplicationJSON {
		return nil, fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Media Type",
			"send the body as Content-Type: application/json", "")
	}
	if cs, ok := params["charset"]; ok && !equalFoldASCII(cs, "utf-8") {
		return nil, fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Media Type",
			"only the utf-8 charset is accepted", "")
	}
	if raw, ok := c.Get(rawBodyKey).([]byte); ok {
		return raw, nil
	}
	return s.readBody(c)
}

// readBody reads the body up to the size limit (413 beyond).
func (s *Server) readBody(c echo.Context) ([]byte, error) {
	if c.Request().ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "unreadable_body", "Bad Request", "the body could not be read", "")
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	return body, nil
}

func tooLarge(limit int64) *problem {
	return fail(http.StatusRequestEntityTooLarge, "body_too_large", "Request Entity Too Large",
		"the body exceeds the limit of "+itoa(limit)+" bytes", "")
}

// unavailable is the 503 of a failure before anything was attempted.
func unavailable() *problem {
	return fail(http.StatusServiceUnavailable, "queue_unavailable", "Service Unavailable",
		"the change queue is unavailable; nothing was queued, retry later", "").withHeader("Retry-After", "1")
}

// queueUnavailable is the 503 of a failed enqueue; its detail says whether
// the change may have been queued (queue.ErrMaybeQueued), and how to retry
// without a second change.
func queueUnavailable(err error, keyed bool) *problem {
	if !errors.Is(err, queue.ErrMaybeQueued) {
		return unavailable()
	}
	detail := "the change queue did not confirm in time; the change may have been queued: " +
		"retry with the same Idempotency-Key to get it (never a second one)"
	if !keyed {
		detail = "the change queue did not confirm in time; the change may have been queued and applied: " +
			"send an Idempotency-Key so that a retry cannot queue it twice"
	}
	return fail(http.StatusServiceUnavailable, "queue_outcome_unknown", "Service Unavailable", detail, "").
		withHeader("Retry-After", "1")
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func equalFoldASCII(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }
