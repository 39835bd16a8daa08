package ticketsim

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Callback is a signed callback the receiver verified and accepted.
type Callback struct {
	// WebhookID is the webhook-id header (the CloudEvent id).
	WebhookID string
	Body      json.RawMessage
}

// Receiver is a webhook receiver that verifies Standard Webhooks
// signatures (401 when they do not verify) before accepting a callback.
type Receiver struct {
	faults
	journal
	verifier *standardwebhooks.Webhook
	now      func() time.Time

	mu        sync.Mutex
	callbacks []Callback
}

// NewReceiver verifies with the whsec_ secret.
func NewReceiver(secret string, now func() time.Time) (*Receiver, error) {
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	return &Receiver{verifier: v, now: now}, nil
}

// Callbacks returns the accepted callbacks, in arrival order (duplicates
// included: at-least-once).
func (r *Receiver) Callbacks() []Callback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Callback(nil), r.callbacks...)
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if inspect(w, req, func() any { return r.Callbacks() }) {
		return
	}
	r.arrive()
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		r.add(Request{At: r.now(), Method: req.Method, Path: req.URL.EscapedPath(), Header: req.Header.Clone(), Body: body, Status: rec.status})
	}()
	if req.Method != http.MethodPost {
		http.Error(rec, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.verifier.Verify(body, req.Header); err != nil {
		http.Error(rec, "signature does not verify", http.StatusUnauthorized)
		return
	}
	if r.inject(rec, req, func(w http.ResponseWriter, s int) { http.Error(w, http.StatusText(s), s) }) {
		return
	}
	r.mu.Lock()
	r.callbacks = append(r.callbacks, Callback{WebhookID: req.Header.Get(standardwebhooks.HeaderWebhookID), Body: body})
	r.mu.Unlock()
	rec.WriteHeader(http.StatusNoContent)
}
