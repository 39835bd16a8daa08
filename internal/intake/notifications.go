package intake

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/notifyqueue"
)

// Notifications reads the outbound delivery status of changes and queues
// given-up deliveries again (*notifyqueue.Store).
type Notifications interface {
	Deliveries(ctx context.Context, changeID string) ([]notifyqueue.Delivery, error)
	Redeliver(ctx context.Context, changeID string) ([]notifyqueue.Delivery, error)
}

// changeView is the change record as GET /v1/changes/{id} serves it: the
// record untouched (its state machine is the worker's), plus the delivery
// status of its notifications, kept in a bucket of their own.
type changeView struct {
	change.Record
	Notifications []notifyqueue.Delivery `json:"notifications,omitempty"`
}

// view adds the notifications to rec. A status that cannot be read is
// left out rather than failing the read of the record.
func (s *Server) view(ctx context.Context, rec change.Record) changeView {
	v := changeView{Record: rec}
	if s.notifications == nil {
		return v
	}
	ds, err := s.notifications.Deliveries(ctx, rec.ID)
	if err != nil {
		s.logger.Warn("read notification status failed", "change_id", rec.ID, "error", err)
		return v
	}
	v.Notifications = ds
	return v
}

// redeliverNotifications queues the change's given-up deliveries again.
// It is scoped like a retry: changes.retry and the change's operation,
// resource and environment.
func (s *Server) redeliverNotifications(c echo.Context) error {
	id := c.Param("change_id")
	if !change.ValidID(id) {
		return unknownChange()
	}
	caller := callerFrom(c)
	if !caller.Scope.Allows(PermRetryChanges) {
		return forbidOperation(caller, PermRetryChanges)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.EnqueueTimeout)
	defer cancel()
	if err := s.authorizeRetry(ctx, caller, id); err != nil {
		return err
	}
	if s.notifications == nil {
		return fail(http.StatusServiceUnavailable, "notifications_unavailable", "Service Unavailable",
			"outbound notifications are not configured on this api", "")
	}
	ds, err := s.notifications.Redeliver(ctx, id)
	switch {
	case errors.Is(err, notifyqueue.ErrNothingToRedeliver):
		return fail(http.StatusConflict, "nothing_to_redeliver", "Conflict",
			"no notification of this change has given up", "")
	case err != nil:
		s.logger.Error("redeliver notifications failed", "change_id", id, "error", err)
		return unavailable()
	}
	s.logger.Info("notifications re-queued", "change_id", id, "requested_by", callerOf(c))
	return c.JSON(http.StatusAccepted, map[string]any{"notifications": ds})
}
