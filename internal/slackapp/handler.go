package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/queue"
)

// Queue is what the Slack app needs of the work queue (*queue.Queue): the
// same Enqueue and Retry as the HTTP intake.
type Queue interface {
	Enqueue(ctx context.Context, req queue.Request) (change.Record, bool, error)
	Retry(ctx context.Context, req queue.RetryRequest) (change.Record, error)
}

// Records reads change records (*records.Records).
type Records interface {
	Get(ctx context.Context, id string) (change.Record, uint64, error)
	Payload(ctx context.Context, id string) ([]byte, error)
}

// Deps are the Slack app's collaborators.
type Deps struct {
	Callers Directory
	Queue   Queue
	Records Records
	Replies *Replies
	// Poster posts the answer to a button click to its response_url.
	Poster *Poster
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Accepted counts a change queued from Slack under its operation (the
	// intake's patchbay_changes_accepted_total); nil counts nothing.
	Accepted func(operation string)
}

// Handler serves POST /slack/commands and POST /slack/interactions.
type Handler struct {
	cfg      Config
	callers  Directory
	queue    Queue
	records  Records
	replies  *Replies
	poster   *Poster
	logger   *slog.Logger
	now      func() time.Time
	accepted func(operation string)
	posts    sync.WaitGroup
}

// NewHandler builds the Slack app's HTTP handlers; cfg must be enabled
// and valid.
func NewHandler(cfg Config, deps Deps) (*Handler, error) {
	if !cfg.Enabled() {
		return nil, errors.New("slackapp: SLACK_SIGNING_SECRET is not set")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Callers == nil || deps.Queue == nil || deps.Records == nil || deps.Replies == nil || deps.Poster == nil || deps.Logger == nil {
		return nil, errors.New("slackapp: NewHandler: nil dependency")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Accepted == nil {
		deps.Accepted = func(string) {}
	}
	return &Handler{cfg: cfg, callers: deps.Callers, queue: deps.Queue, records: deps.Records,
		replies: deps.Replies, poster: deps.Poster, logger: deps.Logger, now: deps.Now, accepted: deps.Accepted}, nil
}

// Close waits for the answers to button clicks still being posted.
func (h *Handler) Close() { h.posts.Wait() }

// ServeCommand answers a slash command within Slack's 3 seconds: it
// verifies the request, and answers 200 with an ephemeral message for
// every verified command, refusals included.
func (h *Handler) ServeCommand(w http.ResponseWriter, r *http.Request) {
	body, err := readVerified(r, h.cfg.SigningSecret, h.cfg.MaxBodyBytes)
	if err != nil {
		h.logger.Warn("slack command refused", "error", err, "retry_num", r.Header.Get("X-Slack-Retry-Num"))
		refuseRequest(w, err)
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.AnswerBudget)
	defer cancel()
	writeMessage(w, h.command(ctx, sc, body))
}

// command does what a verified command asks.
func (h *Handler) command(ctx context.Context, sc slack.SlashCommand, body []byte) *slack.WebhookMessage {
	name := sc.Command
	if !commandName.MatchString(name) {
		name = "/patchbay" // it is shown to users and kept as the record's reason
	}
	who, caller, refused := h.identify(sc.TeamID, sc.UserID)
	if refused != nil {
		return refused
	}
	cmd, err := ParseCommand(sc.Text)
	var ue *UsageError
	if errors.As(err, &ue) {
		return usageMessage(name, ue)
	}
	target := ReplyTarget{ResponseURL: sc.ResponseURL, TeamID: sc.TeamID, ChannelID: sc.ChannelID, UserID: sc.UserID,
		Caller: caller.Name, InChannel: caller.Slack.InChannel, CreatedAt: h.now().UTC()}
	switch cmd.Verb {
	case VerbPeering, VerbIntegration:
		return h.queueChange(ctx, name, who, caller, cmd, idempotencyKey(who, sc.TriggerID, body), target)
	case VerbStatus:
		return h.status(ctx, caller, cmd.ID)
	case VerbRetry:
		return h.retry(ctx, who, caller, cmd.ID, target)
	default:
		return helpMessage(name)
	}
}

// commandName is the shape of a slash command's name.
var commandName = regexp.MustCompile(`^/[a-z0-9_-]{1,32}$`)

// writeMessage answers 200 with a Slack message.
func writeMessage(w http.ResponseWriter, msg *slack.WebhookMessage) {
	data, err := json.Marshal(msg)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// notQueued is the answer when the queue did not confirm.
func notQueued(what string) *slack.WebhookMessage {
	return ephemeral(fmt.Sprintf(":warning: Patchbay could not confirm that the %s was queued (the queue is unavailable). "+
		"It may still run: check with `/patchbay status` if you got a change id, or try again in a minute.", what))
}
