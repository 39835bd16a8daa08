package slackapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/topology"
)

// Slack's limits for a response_url.
const (
	// MaxReplyPosts is how many times one response_url may be used.
	MaxReplyPosts = 5
	// ReplyWindow is how long a response_url may be used.
	ReplyWindow = 30 * time.Minute
)

// ReplyTarget is where the result of a change goes: the response_url of
// the command (or button click) that asked for it. ResponseURL is a secret:
// it is kept only in the patchbay_slack_replies bucket, never on the record,
// in an event or in a log.
type ReplyTarget struct {
	ResponseURL string    `json:"response_url"`
	TeamID      string    `json:"team_id"`
	ChannelID   string    `json:"channel_id,omitempty"`
	UserID      string    `json:"user_id"`
	Caller      string    `json:"caller"`
	InChannel   bool      `json:"in_channel,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Posts counts posts to ResponseURL (attempted ones included).
	Posts int `json:"posts"`
}

// usable reports whether ResponseURL may still be posted to at now.
func (t ReplyTarget) usable(now time.Time) bool {
	return t.ResponseURL != "" && t.Posts < MaxReplyPosts && now.Sub(t.CreatedAt) < ReplyWindow
}

// Replies stores reply targets in JetStream KV, keyed by change id. A new
// command's target is also stored, before the change is queued, under a key
// derived from its requested_by and Idempotency-Key, so a result that comes
// before the change-id key is written still finds it.
type Replies struct {
	kv jetstream.KeyValue
}

// NewReplies opens the bucket (topology.Ensure creates it).
func NewReplies(ctx context.Context, js jetstream.JetStream) (*Replies, error) {
	kv, err := js.KeyValue(ctx, topology.SlackRepliesBucket)
	if err != nil {
		return nil, fmt.Errorf("slackapp: open %s: %w", topology.SlackRepliesBucket, err)
	}
	return &Replies{kv: kv}, nil
}

// pendingKey is the key of a target stored before its change id is known.
func pendingKey(requestedBy, idempotencyKey string) string {
	sum := sha256.Sum256([]byte(requestedBy + "\x00" + idempotencyKey))
	return "idem_" + hex.EncodeToString(sum[:])
}

// Put stores t under key, replacing any earlier target.
func (r *Replies) Put(ctx context.Context, key string, t ReplyTarget) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("slackapp: encode reply target: %w", err)
	}
	if _, err := r.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("slackapp: store reply target: %w", err)
	}
	return nil
}

// storedTarget is a target with where it is stored.
type storedTarget struct {
	key string
	rev uint64
	ReplyTarget
}

// Find returns the reply target of a change record: by its id, else by its
// requested_by and Idempotency-Key. found is false when there is none.
func (r *Replies) Find(ctx context.Context, rec change.Record) (storedTarget, bool, error) {
	var keys []string
	if change.ValidID(rec.ID) { // anything else is not a usable KV key
		keys = append(keys, rec.ID)
	}
	if rec.IdempotencyKey != "" {
		keys = append(keys, pendingKey(rec.RequestedBy, rec.IdempotencyKey))
	}
	for _, k := range keys {
		e, err := r.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return storedTarget{}, false, fmt.Errorf("slackapp: read reply target: %w", err)
		}
		var t ReplyTarget
		if err := json.Unmarshal(e.Value(), &t); err != nil {
			return storedTarget{}, false, fmt.Errorf("slackapp: decode reply target: %w", err)
		}
		return storedTarget{key: k, rev: e.Revision(), ReplyTarget: t}, true, nil
	}
	return storedTarget{}, false, nil
}

// errTargetChanged: the target was updated since it was read.
var errTargetChanged = errors.New("slackapp: reply target changed concurrently")

// update writes t back if it is unchanged since it was read.
func (r *Replies) update(ctx context.Context, t storedTarget) (storedTarget, error) {
	data, err := json.Marshal(t.ReplyTarget)
	if err != nil {
		return t, fmt.Errorf("slackapp: encode reply target: %w", err)
	}
	rev, err := r.kv.Update(ctx, t.key, data, t.rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return t, errTargetChanged
		}
		return t, fmt.Errorf("slackapp: update reply target: %w", err)
	}
	t.rev = rev
	return t, nil
}

// create stores t under key unless a target is there already (a command
// Slack sent again keeps the first one's post count).
func (r *Replies) create(ctx context.Context, key string, t ReplyTarget) error {
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("slackapp: encode reply target: %w", err)
	}
	if _, err := r.kv.Create(ctx, key, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("slackapp: store reply target: %w", err)
	}
	return nil
}
