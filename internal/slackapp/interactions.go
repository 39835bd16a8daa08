package slackapp

import (
	"context"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
)

// ServeInteraction answers a button click within Slack's 3 seconds. The
// Retry button re-queues the change with the clicking user's scope; the
// answer goes to the click's response_url (Slack ignores the body of the
// answer to a block action), and so does the retried change's result.
func (h *Handler) ServeInteraction(w http.ResponseWriter, r *http.Request) {
	if _, err := readVerified(r, h.cfg.SigningSecret, h.cfg.MaxBodyBytes); err != nil {
		h.logger.Warn("slack interaction refused", "error", err)
		refuseRequest(w, err)
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	id := retryActionValue(ic)
	if ic.Type != slack.InteractionTypeBlockActions || !change.ValidID(id) {
		w.WriteHeader(http.StatusOK) // not ours: acknowledge and ignore
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.AnswerBudget)
	defer cancel()
	who, caller, msg := h.identify(ic.Team.ID, ic.User.ID)
	if msg == nil {
		// Posts: 1 counts the answer posted below.
		target := ReplyTarget{ResponseURL: ic.ResponseURL, TeamID: ic.Team.ID, ChannelID: ic.Channel.ID, UserID: ic.User.ID,
			Caller: caller.Name, InChannel: caller.Slack.InChannel, CreatedAt: h.now().UTC(), Posts: 1}
		msg = h.retry(ctx, who, caller, id, target)
	}
	w.WriteHeader(http.StatusOK)
	if ic.ResponseURL == "" {
		return
	}
	msg.ReplaceOriginal = false
	h.posts.Add(1)
	go func() {
		defer h.posts.Done()
		pctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.PostTimeout)
		defer cancel()
		if err := h.poster.Post(pctx, ic.ResponseURL, msg); err != nil {
			h.logger.Warn("slack answer to a button not posted", "change_id", id, "error", err)
		}
	}()
}

// retryActionValue returns the change id of a Retry button click, or "".
func retryActionValue(ic slack.InteractionCallback) string {
	for _, a := range ic.ActionCallback.BlockActions {
		if a != nil && a.ActionID == RetryActionID {
			return a.Value
		}
	}
	return ""
}
