package intake

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
)

// getChange serves a change record; ?wait= long-polls until it is terminal.
func (s *Server) getChange(c echo.Context) error {
	id := c.Param("change_id")
	if !change.ValidID(id) {
		return unknownChange()
	}
	caller := callerFrom(c)
	if !caller.Scope.Allows(PermReadChanges) {
		return forbidOperation(caller, PermReadChanges)
	}
	wait, err := parseWait(c.QueryParam("wait"), s.cfg.MaxWait)
	if err != nil {
		return failParam(http.StatusBadRequest, "invalid_wait", "Bad Request",
			"wait must be a duration such as 30s (at most "+s.cfg.MaxWait.String()+")", "wait")
	}
	rec, _, err := s.records.Get(c.Request().Context(), id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return unknownChange()
	case err != nil:
		s.logger.Error("read change failed", "change_id", id, "error", err)
		return fail(http.StatusServiceUnavailable, "queue_unavailable", "Service Unavailable",
			"the change store is unavailable; retry later", "").withHeader("Retry-After", "1")
	}
	if !caller.Scope.AllowsResource(rec.Resource.ID) {
		return forbidResource(caller, rec.Resource.Kind, rec.Resource.ID)
	}
	if wait > 0 && !rec.State.Terminal() {
		release, ok := s.longPolls.acquire()
		if !ok {
			// Too many long-polls: answer now, as if the wait had run out.
			c.Response().Header().Set(HeaderLongPoll, "skipped")
			c.Response().Header().Set("Retry-After", "1")
			return c.JSON(http.StatusOK, s.view(c.Request().Context(), rec))
		}
		defer release()
		ctx, cancel := context.WithTimeout(c.Request().Context(), wait)
		defer cancel()
		// When the wait runs out, the latest value seen is the answer.
		if latest, werr := s.records.WaitTerminal(ctx, id); werr == nil || latest.ID != "" {
			rec = latest
		}
	}
	return c.JSON(http.StatusOK, s.view(c.Request().Context(), rec))
}

// retryChange re-queues a failed change.
func (s *Server) retryChange(c echo.Context) error {
	id := c.Param("change_id")
	if !change.ValidID(id) {
		return unknownChange()
	}
	caller := callerFrom(c)
	if !caller.Scope.Allows(PermRetryChanges) {
		return forbidOperation(caller, PermRetryChanges)
	}
	force, err := parseForce(c.QueryParam("force"))
	if err != nil {
		return failParam(http.StatusBadRequest, "invalid_force", "Bad Request", "force must be true or false", "force")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.EnqueueTimeout)
	defer cancel()
	if err := s.authorizeRetry(ctx, caller, id); err != nil {
		return err
	}
	rec, err := s.queue.Retry(ctx, queue.RetryRequest{
		ID: id, By: caller.Name, Force: force, TraceParent: c.Request().Header.Get("traceparent"),
	})
	var stale *queue.StaleError
	switch {
	case errors.Is(err, records.ErrNotFound):
		return unknownChange()
	case errors.Is(err, queue.ErrNotFailed):
		return fail(http.StatusConflict, "change_not_failed", "Conflict",
			"only a failed change can be retried; this one is "+string(rec.State), "")
	case errors.As(err, &stale):
		detail := "change " + stale.Newer + " to the same resource was accepted after this one"
		if stale.NewerState != "" {
			detail += " (" + string(stale.NewerState) + ")"
		}
		return failParam(http.StatusConflict, "stale_change", "Conflict",
			detail+"; retrying would apply this older request over it: add ?force=true to retry anyway", "force")
	case errors.Is(err, queue.ErrMaybeQueued):
		s.logger.Error("retry outcome unknown", "change_id", id, "error", err)
		return fail(http.StatusServiceUnavailable, "queue_outcome_unknown", "Service Unavailable",
			"the change queue did not confirm in time; the change may have been re-queued: "+
				"repeat the retry (it re-queues the same generation, never a second one)", "").withHeader("Retry-After", "1")
	case err != nil:
		s.logger.Error("retry failed", "change_id", id, "error", err)
		return fail(http.StatusServiceUnavailable, "queue_unavailable", "Service Unavailable",
			"the change queue is unavailable; nothing was re-queued, retry later", "").withHeader("Retry-After", "1")
	}
	s.logger.Info("change re-queued", "change_id", id, "operation", rec.Operation, "resource", rec.Resource.Path,
		"generation", rec.Generation, "requested_by", callerOf(c), "forced", force)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/changes/"+rec.ID)
	return c.JSON(http.StatusAccepted, rec)
}

// authorizeRetry checks that the change is within the caller's scope: its
// operation, its resource and, for a caller scoped to environments, the
// environment of the peering (read from the kept request body).
func (s *Server) authorizeRetry(ctx context.Context, caller *Caller, id string) error {
	rec, _, err := s.records.Get(ctx, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return unknownChange()
	case err != nil:
		s.logger.Error("read change failed", "change_id", id, "error", err)
		return unavailable()
	case !caller.Scope.Allows(Permission(rec.Operation)):
		return forbidOperation(caller, Permission(rec.Operation))
	case !caller.Scope.AllowsResource(rec.Resource.ID):
		return forbidResource(caller, rec.Resource.Kind, rec.Resource.ID)
	case !caller.Scope.restrictsEnvironments() || rec.Operation != string(PermUpdatePeering):
		return nil
	}
	body, err := s.records.Payload(ctx, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return nil // not failed (no body kept): Retry answers 409
	case err != nil:
		s.logger.Error("read change payload failed", "change_id", id, "error", err)
		return unavailable()
	case !caller.Scope.AllowsEnvironment(peeringEnvironment(body)):
		return forbidEnvironment(caller)
	}
	return nil
}

func unknownChange() *problem {
	return fail(http.StatusNotFound, "change_not_found", "Not Found", "no change with this id", "")
}

// parseWait accepts "30s", "1m" or plain seconds ("30"), capped at max.
func parseWait(v string, max time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, err
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, errors.New("negative wait")
	}
	return min(d, max), nil
}

// parseForce reads ?force= of a retry: empty, true or false.
func parseForce(v string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errors.New("force: not a boolean")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
