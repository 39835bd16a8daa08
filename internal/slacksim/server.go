package slacksim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's limits for a response_url.
const (
	MaxPosts = 5
	Window   = 30 * time.Minute
)

// Post is one message received.
type Post struct {
	At      time.Time
	Message slack.WebhookMessage
	Raw     []byte
}

// fault is a canned answer for the next posts to a URL.
type fault struct {
	status     int
	retryAfter int
	times      int
}

type endpoint struct {
	created time.Time
	webhook bool // an incoming webhook: no limits
	posts   []Post
	// attempts counts every post, answered or not.
	attempts int
	faults   []fault
}

// Server receives posts to response_urls (/response/<id>) and incoming
// webhooks (/webhook/<id>).
type Server struct {
	base string
	now  func() time.Time

	mu        sync.Mutex
	endpoints map[string]*endpoint
}

// New returns a Server whose URLs start with base (the address it is
// served at, e.g. an httptest.Server's URL); now is the clock (nil:
// time.Now).
func New(base string, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{base: strings.TrimRight(base, "/"), now: now, endpoints: map[string]*endpoint{}}
}

// SetBase sets the URL prefix (when the listener is known only after New).
func (s *Server) SetBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(base, "/")
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewResponseURL returns a fresh response_url, usable 5 times within 30
// minutes from now.
func (s *Server) NewResponseURL() string { return s.add("response", false) }

// NewWebhookURL returns an incoming webhook URL without limits.
func (s *Server) NewWebhookURL() string { return s.add("webhook", true) }

func (s *Server) add(kind string, webhook bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := "/" + kind + "/" + randomID()
	s.endpoints[path] = &endpoint{created: s.now(), webhook: webhook}
	return s.base + path
}

// Fail makes the next n posts to url answer status (with Retry-After
// seconds when retryAfter > 0) instead of being accepted.
func (s *Server) Fail(url string, n, status, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.endpoints[s.path(url)]; e != nil {
		e.faults = append(e.faults, fault{status: status, retryAfter: retryAfter, times: n})
	}
}

// Posts returns the messages accepted at url.
func (s *Server) Posts(url string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.endpoints[s.path(url)]; e != nil {
		return append([]Post(nil), e.posts...)
	}
	return nil
}

// Attempts counts every post to url, refused ones included.
func (s *Server) Attempts(url string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.endpoints[s.path(url)]; e != nil {
		return e.attempts
	}
	return 0
}

func (s *Server) path(url string) string { return strings.TrimPrefix(url, s.base) }

// ServeHTTP implements http.Handler. GET / lists every message received
// (for a person watching `make run`).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		s.list(w)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method_not_allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpoints[r.URL.Path]
	if e == nil {
		http.Error(w, "invalid_url", http.StatusNotFound)
		return
	}
	e.attempts++
	if len(e.faults) > 0 {
		f := &e.faults[0]
		if f.times--; f.times <= 0 {
			e.faults = e.faults[1:]
		}
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		http.Error(w, http.StatusText(f.status), f.status)
		return
	}
	now := s.now()
	if !e.webhook {
		switch {
		case now.Sub(e.created) >= Window:
			http.Error(w, "expired_url", http.StatusNotFound)
			return
		case len(e.posts) >= MaxPosts:
			http.Error(w, "used_url", http.StatusNotFound)
			return
		}
	}
	var msg slack.WebhookMessage
	if err := json.Unmarshal(body, &msg); err != nil || (msg.Text == "" && (msg.Blocks == nil || len(msg.Blocks.BlockSet) == 0)) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if !withinLimits(msg) {
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
		return
	}
	e.posts = append(e.posts, Post{At: now, Message: msg, Raw: body})
	_, _ = io.WriteString(w, "ok")
}

// list writes every received message as JSON lines: where, when, what.
func (s *Server) list(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for path, e := range s.endpoints {
		for _, p := range e.posts {
			_ = enc.Encode(map[string]any{"to": path, "at": p.At, "message": json.RawMessage(p.Raw)})
		}
	}
}

// withinLimits applies Block Kit's text limits as Slack does: at most 50
// blocks, section text 3000 characters, context elements 2000.
func withinLimits(msg slack.WebhookMessage) bool {
	if msg.Blocks == nil {
		return true
	}
	if len(msg.Blocks.BlockSet) > 50 {
		return false
	}
	for _, b := range msg.Blocks.BlockSet {
		switch t := b.(type) {
		case *slack.SectionBlock:
			if t.Text != nil && utf8.RuneCountInString(t.Text.Text) > 3000 {
				return false
			}
		case *slack.ContextBlock:
			for _, el := range t.ContextElements.Elements {
				if tx, ok := el.(*slack.TextBlockObject); ok && utf8.RuneCountInString(tx.Text) > 2000 {
					return false
				}
			}
		}
	}
	return true
}
