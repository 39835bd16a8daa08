package slackapp

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/intake"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/records"
)

// identify maps a Slack user to its caller; refused is the answer for an
// unknown user.
func (h *Handler) identify(teamID, userID string) (string, *intake.Caller, *slack.WebhookMessage) {
	who, ok := intake.SlackUser(teamID, userID)
	if !ok {
		return "", nil, refusal("Slack did not say who you are (team and user id); nothing was done.")
	}
	caller := h.callers.BySlackUser(teamID, userID)
	if caller == nil {
		h.logger.Warn("slack user unknown", "slack_user", who)
		return "", nil, refusal(fmt.Sprintf("You are not a Patchbay user, so nothing was done. Ask an operator to add `%s` to `slack_users` of a caller in the callers file.", who))
	}
	return who, caller, nil
}

// queueChange validates and queues a peering or integration change.
func (h *Handler) queueChange(ctx context.Context, name, who string, caller *intake.Caller, cmd Command, key string, target ReplyTarget) *slack.WebhookMessage {
	req, err := buildChange(cmd)
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		return usageMessage(name, ue)
	case err != nil:
		h.logger.Error("slack command", "error", err)
		return refusal("Patchbay could not build that change; nothing was queued.")
	}
	perm := intake.Permission(req.Operation)
	switch {
	case !caller.Scope.Allows(perm):
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not %s; nothing was queued.", caller.Name, perm))
	case !caller.Scope.AllowsResource(req.Resource.ID):
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not change %s `%s`; nothing was queued.", caller.Name, cmd.Verb, escape(req.Resource.ID)))
	case req.Environment != "" && !caller.Scope.AllowsEnvironment(req.Environment):
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not change peerings in that environment; nothing was queued.", caller.Name))
	}
	by := requestedBy(caller.Name, who)
	if target.ResponseURL != "" {
		// Before the change exists, so that its result always finds it.
		if err := h.replies.create(ctx, pendingKey(by, key), target); err != nil {
			h.logger.Error("slack reply target", "error", err)
			return ephemeral(":warning: Patchbay is unavailable; nothing was queued. Try again in a minute.")
		}
	}
	rec, created, err := h.queue.Enqueue(ctx, queue.Request{
		Operation: string(req.Operation), Resource: req.Resource, Body: req.Body,
		RequestedBy: by, IdempotencyKey: key, Reason: "slack " + name,
	})
	switch {
	case errors.Is(err, queue.ErrIdempotencyConflict):
		return refusal("This command was already used for a different change; nothing was queued.")
	case err != nil:
		h.logger.Error("slack enqueue failed", "operation", req.Operation, "resource", req.Resource.Path, "error", err)
		return notQueued("change")
	}
	if created && target.ResponseURL != "" {
		if err := h.replies.create(ctx, rec.ID, target); err != nil {
			// The pending key still leads the result here.
			h.logger.Warn("slack reply target by change id", "change_id", rec.ID, "error", err)
		}
	}
	if created {
		h.accepted(string(req.Operation))
		h.logger.Info("change accepted", "change_id", rec.ID, "operation", req.Operation, "resource", req.Resource.Path, "requested_by", by)
	}
	return acceptedMessage(cmd.Verb, rec, req.Body, !created)
}

// status describes a change.
func (h *Handler) status(ctx context.Context, caller *intake.Caller, id string) *slack.WebhookMessage {
	if !caller.Scope.Allows(intake.PermReadChanges) {
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not read changes.", caller.Name))
	}
	rec, _, err := h.records.Get(ctx, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return refusal(fmt.Sprintf("There is no change `%s`.", id))
	case err != nil:
		h.logger.Error("slack status", "change_id", id, "error", err)
		return ephemeral(":warning: Patchbay is unavailable; try again in a minute.")
	case !caller.Scope.AllowsResource(rec.Resource.ID):
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not read changes of %s `%s`.", caller.Name, rec.Resource.Kind, escape(rec.Resource.ID)))
	}
	return statusMessage(rec)
}

// retry re-queues a failed change with the scope of the user's caller; the
// result goes to target.
func (h *Handler) retry(ctx context.Context, who string, caller *intake.Caller, id string, target ReplyTarget) *slack.WebhookMessage {
	if !caller.Scope.Allows(intake.PermRetryChanges) {
		return refusal(fmt.Sprintf("Caller `%s` (yours) may not retry changes.", caller.Name))
	}
	rec, _, err := h.records.Get(ctx, id)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return refusal(fmt.Sprintf("There is no change `%s`.", id))
	case err != nil:
		h.logger.Error("slack retry", "change_id", id, "error", err)
		return notQueued("retry")
	}
	if msg := h.authorizeRetry(ctx, caller, rec); msg != nil {
		return msg
	}
	if rec.State != change.StateFailed {
		return refusal(fmt.Sprintf("Change `%s` is %s: only a failed change can be retried.", rec.ID, rec.State))
	}
	if target.ResponseURL != "" {
		if err := h.replies.Put(ctx, rec.ID, target); err != nil {
			h.logger.Error("slack reply target", "change_id", rec.ID, "error", err)
			return ephemeral(":warning: Patchbay is unavailable; nothing was re-queued. Try again in a minute.")
		}
	}
	rec, err = h.queue.Retry(ctx, queue.RetryRequest{ID: id, By: requestedBy(caller.Name, who)})
	var stale *queue.StaleError
	switch {
	case errors.As(err, &stale):
		return refusal(fmt.Sprintf("Change `%s` is older than change `%s` (%s) to the same resource: retrying it would undo the newer one. Use the HTTP API with `?force=true` if that is what you want.",
			id, stale.Newer, stale.NewerState))
	case errors.Is(err, queue.ErrNotFailed):
		return refusal(fmt.Sprintf("Change `%s` is %s: it was already retried.", id, rec.State))
	case errors.Is(err, records.ErrNotFound):
		return refusal(fmt.Sprintf("There is no change `%s`.", id))
	case err != nil:
		h.logger.Error("slack retry failed", "change_id", id, "error", err)
		return notQueued("retry")
	}
	h.logger.Info("change re-queued", "change_id", id, "generation", strconv.Itoa(rec.Generation),
		"requested_by", requestedBy(caller.Name, who))
	return retriedMessage(rec)
}

// authorizeRetry checks the change against the caller's scope: operation,
// resource and, for peerings, the environment of the kept request body.
func (h *Handler) authorizeRetry(ctx context.Context, caller *intake.Caller, rec change.Record) *slack.WebhookMessage {
	deny := refusal(fmt.Sprintf("Caller `%s` (yours) may not retry change `%s` (%s `%s`).", caller.Name, rec.ID, rec.Resource.Kind, escape(rec.Resource.ID)))
	if !caller.Scope.Allows(intake.Permission(rec.Operation)) || !caller.Scope.AllowsResource(rec.Resource.ID) {
		return deny
	}
	if rec.Operation != string(intake.PermUpdatePeering) || rec.State != change.StateFailed {
		return nil
	}
	body, err := h.records.Payload(ctx, rec.ID)
	switch {
	case errors.Is(err, records.ErrNotFound):
		return nil // Retry will say it is not failed
	case err != nil:
		h.logger.Error("slack retry payload", "change_id", rec.ID, "error", err)
		return notQueued("retry")
	}
	env := peeringEnvironment(body)
	if !caller.Scope.AllowsEnvironment(env) {
		return deny
	}
	return nil
}
